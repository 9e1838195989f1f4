"""``agavepy.resource`` against a real tenant: opaque tokens by introspection, JWT access
tokens by the tenant's JWKS, the refusals a resource server must make, and docs/sdk.md's
example service run under uvicorn.

One server for the module, with no tenant or JWKS caching, so that switching the token format
and rotating keys take effect at once.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from agavepy.resource import (
    AccessToken,
    InsufficientScopeError,
    InvalidTokenError,
    TokenVerifier,
    verify_token,
)
from tests.conftest import User, unique_name
from tests.server.conftest import OAuthClient, create_client, password_token
from tests.support.server import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Tenant:
    server: ServerProcess
    user: User
    app: OAuthClient  # the program that gets tokens for the user
    service: OAuthClient  # the resource server's own client, marked as a resource server

    @property
    def issuer(self) -> str:
        return self.server.base_url

    def token(self) -> dict:
        with self.server.client() as http:
            return password_token(http, self.app)

    def use_format(self, fmt: str) -> None:
        self.server.admin("tenants", "update", "sd2e", "--access-token-format", fmt)


@pytest.fixture(scope="module")
def tenant(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenant]:
    env = {"AGAVE_SERVER_TENANT_CACHE_SECONDS": "0", "AGAVE_SERVER_JWKS_MAX_AGE": "0"}
    with ServerProcess(tmp_path_factory.mktemp("resource"), env=env) as srv:
        user = User(unique_name("rs"), "pw-" + unique_name())
        srv.add_user(user.username, user.password)
        with srv.client() as http:
            app, service = create_client(http, user), create_client(http, user)
        srv.admin("clients", "set", service.name, "--tenant", "sd2e", "--resource-server")
        yield Tenant(srv, user, app, service)


@pytest.fixture
def jwt_tenant(tenant: Tenant) -> Iterator[Tenant]:
    tenant.use_format("jwt")
    try:
        yield tenant
    finally:
        tenant.use_format("opaque")


def b64(data: dict | bytes) -> str:
    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def parts(token: str) -> tuple[dict, dict, str]:
    head, body, sig = token.split(".")
    pad = lambda s: s + "=" * (-len(s) % 4)  # noqa: E731
    return (
        json.loads(base64.urlsafe_b64decode(pad(head))),
        json.loads(base64.urlsafe_b64decode(pad(body))),
        sig,
    )


def sign_with_tenant_key(tenant: Tenant, claims: dict, typ: str) -> str:
    """A JWT signed with the tenant's real current key (as an ID token would be)."""
    from agave_server.config import Settings
    from agave_server.oauth.keys import KeyRing
    from agave_server.storage import Database
    from agave_server.storage.tenants import get_tenant

    db = Database(tenant.server.db_url)
    try:
        record = get_tenant(db, "sd2e")
        assert record is not None
        return KeyRing(db, Settings.load(env=tenant.server.env)).sign(record, claims, typ)
    finally:
        db.dispose()


def test_import_is_light() -> None:
    code = (
        "import sys, agavepy.resource; print(sorted(m for m in sys.modules if m.split('.')[0] "
        "in {'joserfc', 'starlette', 'fastapi', 'httpx', 'agave_server', 'click', 'rich'}))"
    )
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert res.stdout.strip() == "[]", res.stdout + res.stderr


# -- opaque tokens: introspection ------------------------------------------------------------


def test_opaque_token_is_checked_by_introspection(tenant: Tenant) -> None:
    pair = tenant.token()
    with TokenVerifier(
        tenant.issuer, client_id=tenant.service.key, client_secret=tenant.service.secret
    ) as v:
        found = v.verify(pair["access_token"])
    assert isinstance(found, AccessToken)
    assert (found.format, found.username, found.subject) == (
        "opaque",
        tenant.user.username,
        tenant.user.username,
    )
    assert found.client_id == tenant.app.key and found.scopes == ("default",)
    assert found.expires_at and found.expires_at > time.time()


def test_opaque_revoked_junk_and_unpermitted_are_refused(tenant: Tenant) -> None:
    service = (tenant.service.key, tenant.service.secret)
    pair = tenant.token()
    with tenant.server.client() as http:
        assert (
            http.post(
                "/revoke", data={"token": pair["access_token"]}, auth=tenant.app.auth
            ).status_code
            == 200
        )
    for bad in (pair["access_token"], "junk", "a.b"):
        with pytest.raises(InvalidTokenError, match="not active") as err:
            verify_token(bad, tenant.issuer, client_id=service[0], client_secret=service[1])
        assert err.value.status == 401 and err.value.error == "invalid_token"
    live = tenant.token()["access_token"]
    with pytest.raises(InvalidTokenError, match="no client credentials"):
        verify_token(live, tenant.issuer)
    # A client that is not a resource server sees only its own tokens.
    with tenant.server.client() as http:
        plain = create_client(http, tenant.user)
    with pytest.raises(InvalidTokenError, match="not active"):
        verify_token(live, tenant.issuer, client_id=plain.key, client_secret=plain.secret)


def test_scopes_are_checked(tenant: Tenant) -> None:
    live = tenant.token()["access_token"]
    creds = {"client_id": tenant.service.key, "client_secret": tenant.service.secret}
    assert verify_token(live, tenant.issuer, scopes=["default"], **creds).scope == "default"
    with pytest.raises(InsufficientScopeError) as err:
        verify_token(live, tenant.issuer, scopes=["admin"], **creds)
    assert err.value.status == 403 and err.value.error == "insufficient_scope"


# -- JWT access tokens: the JWKS -------------------------------------------------------------


def test_jwt_is_verified_locally(jwt_tenant: Tenant) -> None:
    token = jwt_tenant.token()["access_token"]
    header, claims, _ = parts(token)
    assert header["typ"].lower() == "at+jwt"
    with TokenVerifier(jwt_tenant.issuer) as v:  # no client credentials needed
        found = v.verify(token)
    assert (found.format, found.username, found.client_id) == (
        "jwt",
        jwt_tenant.user.username,
        jwt_tenant.app.key,
    )
    assert found.claims["jti"] == claims["jti"] and found.expires_at == claims["exp"]


def test_forged_jwts_are_refused(jwt_tenant: Tenant) -> None:
    token = jwt_tenant.token()["access_token"]
    header, claims, sig = parts(token)
    jwks = httpx.get(jwt_tenant.issuer + "/oauth2/jwks").json()
    public = next(k for k in jwks["keys"] if k["kid"] == header["kid"])
    import hashlib
    import hmac

    other_user = {**claims, "sub": "admin"}
    unsigned = {**header, "alg": "none"}
    hs = {**header, "alg": "HS256"}
    hs_input = f"{b64(hs)}.{b64(claims)}".encode()
    hs_sig = b64(hmac.new(json.dumps(public).encode(), hs_input, hashlib.sha256).digest())
    cases = {
        f"{b64(header)}.{b64(other_user)}.{sig}": "signature does not verify",
        f"{b64(unsigned)}.{b64(claims)}.": "signed with 'none'",
        f"{hs_input.decode()}.{hs_sig}": "signed with 'HS256'",
        f"{b64({**header, 'kid': 'nosuchkey'})}.{b64(claims)}.{sig}": "unknown key",
    }
    with TokenVerifier(jwt_tenant.issuer) as v:
        for forged, says in cases.items():
            with pytest.raises(InvalidTokenError, match=says):
                v.verify(forged)


def test_an_id_token_is_never_an_access_token(jwt_tenant: Tenant) -> None:
    now = int(time.time())
    id_claims = {
        "iss": jwt_tenant.issuer,
        "sub": jwt_tenant.user.username,
        "aud": jwt_tenant.app.key,
        "exp": now + 300,
        "iat": now,
        "auth_time": now,
        "nonce": "n-0S6_WzA2Mj",
    }
    id_token = sign_with_tenant_key(jwt_tenant, id_claims, "JWT")
    with TokenVerifier(jwt_tenant.issuer) as v:
        with pytest.raises(InvalidTokenError, match="ID token is never accepted"):
            v.verify(id_token)
        # Even labelled at+jwt, its audience (a client id) is not this service.
        relabelled = sign_with_tenant_key(
            jwt_tenant, {**id_claims, "client_id": jwt_tenant.app.key}, "at+jwt"
        )
        with pytest.raises(InvalidTokenError, match="aud"):
            v.verify(relabelled)
        expired = sign_with_tenant_key(
            jwt_tenant,
            {
                **id_claims,
                "aud": jwt_tenant.issuer + "/",
                "client_id": "x",
                "exp": now - 120,
                "iat": now - 600,
            },
            "at+jwt",
        )
        with pytest.raises(InvalidTokenError, match="expired"):
            v.verify(expired)


def test_issuer_and_audience_are_checked(jwt_tenant: Tenant) -> None:
    token = jwt_tenant.token()["access_token"]
    with pytest.raises(InvalidTokenError, match="aud"):
        verify_token(token, jwt_tenant.issuer, audience="https://another-service.example.org/")
    # The same server reached by another name: its document names another issuer, so the
    # verifier falls back to that name's default JWKS, and the token's iss does not match.
    other_name = jwt_tenant.issuer.replace("127.0.0.1", "localhost")
    with pytest.raises(InvalidTokenError, match="iss"):
        verify_token(token, other_name, audience=jwt_tenant.issuer + "/")


def test_a_rotated_in_key_is_fetched_when_a_token_names_it(jwt_tenant: Tenant) -> None:
    before = jwt_tenant.token()["access_token"]
    with TokenVerifier(jwt_tenant.issuer, jwks_min_refetch_seconds=0.2) as v:
        assert v.verify(before).format == "jwt"
        jwt_tenant.server.admin("keys", "rotate", "--tenant", "sd2e")
        deadline = time.monotonic() + 30
        after = jwt_tenant.token()["access_token"]
        while parts(after)[0]["kid"] == parts(before)[0]["kid"] and time.monotonic() < deadline:
            time.sleep(0.5)
            after = jwt_tenant.token()["access_token"]
        assert parts(after)[0]["kid"] != parts(before)[0]["kid"], "the new key never signed"
        time.sleep(0.3)
        assert v.verify(after).format == "jwt"  # an unknown kid: the JWKS fetched again
        assert v.verify(before).format == "jwt"  # the old key is still published


def test_a_revoked_jwt_is_refused_only_when_asked(jwt_tenant: Tenant) -> None:
    pair = jwt_tenant.token()
    with jwt_tenant.server.client() as http:
        assert (
            http.post(
                "/revoke", data={"token": pair["access_token"]}, auth=jwt_tenant.app.auth
            ).status_code
            == 200
        )
    with TokenVerifier(jwt_tenant.issuer) as v:
        assert v.verify(pair["access_token"]).format == "jwt"  # signatures alone cannot know
    with (
        TokenVerifier(
            jwt_tenant.issuer,
            client_id=jwt_tenant.service.key,
            client_secret=jwt_tenant.service.secret,
            introspect_jwts=True,
        ) as v,
        pytest.raises(InvalidTokenError, match="not active"),
    ):
        v.verify(pair["access_token"])


# -- the example service of docs/sdk.md ------------------------------------------------------


def example_source() -> str:
    text = (ROOT / "docs" / "sdk.md").read_text()
    after = text.split("<!-- example: resource-service -->", 1)[1]
    return after.split("```python\n", 1)[1].split("```", 1)[0]


@pytest.fixture
def example_service(tenant: Tenant, tmp_path: Path) -> Iterator[str]:
    source = example_source()
    assert len([ln for ln in source.splitlines() if ln.strip()]) <= 15  # "a ten-line service"
    (tmp_path / "example.py").write_text(source)
    port = free_port()
    env = {
        **os.environ,
        "AGAVE_ISSUER": tenant.issuer,
        "AGAVE_CLIENT_KEY": tenant.service.key,
        "AGAVE_CLIENT_SECRET": tenant.service.secret,
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "example:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/hello", timeout=2)
                break
            except httpx.HTTPError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise AssertionError(
                        proc.stdout.read().decode() if proc.stdout else ""
                    ) from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        proc.wait(10)


def test_the_documented_example_service(tenant: Tenant, example_service: str) -> None:
    hello = example_service + "/hello"
    r = httpx.get(hello)
    assert r.status_code == 401 and r.headers["www-authenticate"] == 'Bearer realm="agave"'
    r = httpx.get(hello, headers={"Authorization": "Bearer junk"})
    assert r.status_code == 401
    assert 'error="invalid_token"' in r.headers["www-authenticate"]
    opaque = tenant.token()["access_token"]
    r = httpx.get(hello, headers={"Authorization": f"Bearer {opaque}"})
    assert r.status_code == 200, r.text
    assert r.json() == {"hello": tenant.user.username, "client": tenant.app.key, "format": "opaque"}
    tenant.use_format("jwt")
    try:
        jwt = tenant.token()["access_token"]
    finally:
        tenant.use_format("opaque")
    r = httpx.get(hello, headers={"Authorization": f"Bearer {jwt}"})
    assert r.status_code == 200, r.text
    assert r.json()["format"] == "jwt" and r.json()["hello"] == tenant.user.username
