"""The OAuth tests' server: two tenants on one process, told apart by Host.

Tenant ``sd2e`` lives at ``http://127.0.0.1:PORT/``, tenant ``other`` at
``http://localhost:PORT/`` (the same process; requests name it by Host). The tenant cache is
off (``TENANT_CACHE_SECONDS=0``) so that ``tenants update`` is seen at once. Tests that need
short lifetimes start their own server with ``make_server``.
"""

from __future__ import annotations

import base64
import json
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import User, unique_name
from tests.support.server import ServerProcess

FAST_CACHE = {"AGAVE_SERVER_TENANT_CACHE_SECONDS": "0"}


@dataclass
class Client:
    name: str
    key: str
    secret: str
    owner: User

    @property
    def auth(self) -> tuple[str, str]:
        return (self.key, self.secret)


class Tenant:
    """One tenant of the server, as its users reach it (its own Host)."""

    def __init__(self, server: ServerProcess, code: str, base_url: str) -> None:
        self.server = server
        self.code = code
        self.base_url = base_url  # with the trailing slash
        self.issuer = base_url.rstrip("/")
        self.http = httpx.Client(base_url=server.base_url, timeout=30)
        host = httpx.URL(base_url).netloc.decode()
        self.http.headers["Host"] = host
        self._format = "opaque"
        self._shared: User | None = None

    def shared_user(self) -> User:
        """One user for the tests that only need some owner (each CLI call costs a second)."""
        if self._shared is None:
            self._shared = self.user()
        return self._shared

    def user(self, admin: bool = False) -> User:
        user = User(unique_name("oa"), "pw-" + secrets.token_urlsafe(12), self.code)
        self.server.add_user(user.username, user.password, tenant=self.code, admin=admin)
        return user

    def client(self, owner: User, name: str | None = None) -> Client:
        name = name or "c" + secrets.token_hex(4)
        r = self.http.post("/clients/v2", data={"clientName": name}, auth=owner.auth)
        assert r.status_code == 201, r.text
        result = r.json()["result"]
        return Client(name, result["consumerKey"], result["consumerSecret"], owner)

    def token(self, client: Client, grant: str = "password", **extra: str) -> dict:
        data = {"grant_type": grant, **extra}
        if grant in ("password", "admin_password"):
            data.setdefault("username", client.owner.username)
            data.setdefault("password", client.owner.password)
        r = self.http.post("/token", data=data, auth=client.auth)
        assert r.status_code == 200, r.text
        return r.json()

    def refresh(self, client: Client, refresh_token: str) -> httpx.Response:
        data = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        return self.http.post("/token", data=data, auth=client.auth)

    def me(self, access_token: str) -> httpx.Response:
        return self.http.get("/profiles/v2/me", headers={"Authorization": f"Bearer {access_token}"})

    def introspect(self, client: Client, token: str, **extra: str) -> httpx.Response:
        return self.http.post(
            "/oauth2/introspect", data={"token": token, **extra}, auth=client.auth
        )

    def revoke(self, client: Client, token: str, **extra: str) -> httpx.Response:
        return self.http.post("/revoke", data={"token": token, **extra}, auth=client.auth)

    def set_format(self, token_format: str) -> None:
        if token_format != self._format:
            self.server.admin("tenants", "update", self.code, "--access-token-format", token_format)
            self._format = token_format

    def jwks(self) -> dict:
        r = self.http.get("/oauth2/jwks")
        assert r.status_code == 200, r.text
        return r.json()


def jwt_parts(token: str) -> tuple[dict, dict]:
    """Header and claims of a compact JWT, unverified (the tests verify separately)."""
    head, body, _ = token.split(".")

    def load(part: str) -> dict:
        return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))

    return load(head), load(body)


@dataclass
class TwoTenants:
    server: ServerProcess
    a: Tenant
    b: Tenant


def start_two_tenants(workdir: Path, env: dict[str, str] | None = None) -> TwoTenants:
    srv = ServerProcess(workdir, env={**FAST_CACHE, **(env or {})})
    b_url = f"http://localhost:{srv.port}/"
    srv.admin("tenants", "add", "other", "--name", "Other Tenant", "--base-url", b_url)
    srv.start()
    return TwoTenants(srv, Tenant(srv, "sd2e", srv.base_url + "/"), Tenant(srv, "other", b_url))


@pytest.fixture(scope="module")
def tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TwoTenants]:
    both = start_two_tenants(tmp_path_factory.mktemp("oauth"))
    try:
        yield both
    finally:
        both.a.http.close()
        both.b.http.close()
        both.server.close()


@pytest.fixture(scope="module")
def a(tenants: TwoTenants) -> Tenant:
    return tenants.a


@pytest.fixture(scope="module")
def b(tenants: TwoTenants) -> Tenant:
    return tenants.b
