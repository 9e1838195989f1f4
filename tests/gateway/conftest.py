"""The gateway as an operator runs it: real nginx, two tenant server processes, real backends.

One stack per test session (``gateway``):
- two ``agave-server`` processes on one database (SQLite file or PostgreSQL; Redis counters
  when ``AGAVE_TEST_REDIS_URL`` is set), trusting forwarded headers from loopback only;
- the tenant ``sd2e`` whose base URL is nginx's, so every tool goes through the gateway;
- ``whoami``: the backend service of docs/gateway.md, run from the doc itself, behind Jobs,
  Jobs v3 and Files; ``echo``: a backend that answers what it received, behind Echo;
- nginx with the config ``agave-server gateway nginx-config`` printed, both servers upstream.
"""

from __future__ import annotations

import base64
import contextlib
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import User, unique_name
from tests.support.nginx import NginxProcess, require_nginx
from tests.support.server import ServerProcess, free_port

ROOT = Path(__file__).resolve().parents[2]
TENANT = "sd2e"
ASSERTION_HEADER = "X-JWT-Assertion-sd2e"
# agavepy 0.9.5 refreshes only when less than 60 s remain: with 45 s its seed session
# refreshes at once; every other test uses its tokens within seconds.
ACCESS_LIFETIME = "45"
# The short-lived server's access tokens. Lifetimes count whole seconds from the second a
# token was issued in, so a token lives between SHORT_LIFETIME - 1 and SHORT_LIFETIME
# seconds: 3 leaves two for its first call on a loaded machine.
SHORT_LIFETIME = 3


def docs_backend_code() -> str:
    """The backend service's code block from docs/gateway.md, as a reader would copy it."""
    text = (ROOT / "docs" / "gateway.md").read_text()
    match = re.search(r"<!-- backend-service.*?-->\s*```python\n(.*?)```", text, re.S)
    assert match, "docs/gateway.md lost its backend-service block"
    return match.group(1)


def wait_for_port(port: int, proc: subprocess.Popen, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
            return
        time.sleep(0.05)
    raise AssertionError(f"{what} did not listen on {port} in {timeout}s")


class Service:
    """A backend process on a loopback port, stopped by its pid."""

    def __init__(self, name: str, cmd: list[str], port: int, workdir: Path, env: dict) -> None:
        self.name = name
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.log_path = workdir / f"{name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=workdir, start_new_session=True
        )
        log.close()
        try:
            wait_for_port(port, self.proc, name)
        except AssertionError:
            self.stop()
            raise AssertionError(self.log_path.read_text(errors="replace")[-3000:]) from None

    def stop(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)


@dataclass
class Gateway:
    servers: list[ServerProcess]
    nginx_port: int
    whoami: Service
    echo: Service
    workdir: Path
    env: dict[str, str]
    url: str
    nginx: NginxProcess | None = None
    extra: list = field(default_factory=list)

    @property
    def admin_server(self) -> ServerProcess:
        return self.servers[0]

    def admin(self, *args: str, check: bool = True):
        return self.admin_server.admin(*args, check=check)

    def config(self) -> str:
        args = ["gateway", "nginx-config", "--tenant", TENANT]
        args += ["--listen", f"127.0.0.1:{self.nginx_port}"]
        for srv in self.servers:
            args += ["--upstream", f"127.0.0.1:{srv.port}"]
        return self.admin(*args).stdout

    def http(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30, **kw)

    def short_lived_server(self) -> ServerProcess:
        """A third process on the same database that issues SHORT_LIFETIME-second tokens."""
        if not self.extra:
            env = {**self.env, "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": str(SHORT_LIFETIME)}
            short = ServerProcess(
                self.workdir / "short", db_url=self.admin_server.db_url, tenants=(), env=env
            )
            self.extra.append(short)
            short.start()
        return self.extra[0]

    def short_lived_token(self, app: App) -> ShortLived:
        """An access token from the short-lived server, and when it has surely expired."""
        short = self.short_lived_server()
        asked = time.monotonic()
        token = token_for(self, app, base_url=short.base_url)["access_token"]
        return ShortLived(token, asked + SHORT_LIFETIME + 0.2)

    def new_user(self, **profile) -> User:
        user = User(unique_name("gw"), "pw-" + secrets.token_urlsafe(12), TENANT)
        self.admin_server.add_user(user.username, user.password, **profile)
        return user


def _start_stack(workdir: Path) -> Gateway:
    nginx_port = free_port()
    url = f"http://127.0.0.1:{nginx_port}"
    env = {
        "AGAVE_SERVER_TRUSTED_PROXIES": "127.0.0.1",
        "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": ACCESS_LIFETIME,
        # Every process of a deployment decrypts the tenant's signing key with the same KEK.
        "AGAVE_SERVER_KEY_ENCRYPTION_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode(),
    }
    redis_url = os.environ.get("AGAVE_TEST_REDIS_URL")
    if redis_url:
        env["AGAVE_SERVER_REDIS"] = redis_url
        env["AGAVE_SERVER_REDIS_PREFIX"] = f"gwtest{secrets.token_hex(4)}:"
    first = ServerProcess(workdir / "a", tenants=(), env=env)
    second = ServerProcess(workdir / "b", db_url=first.db_url, tenants=(), env=env)
    first.admin("tenants", "add", TENANT, "--name", "SD2E Tenant", "--base-url", url + "/")
    started: list = []
    try:
        for srv in (first, second):
            srv.start()
            started.append(srv)
        code = workdir / "whoami.py"
        code.write_text(docs_backend_code())
        whoami_port, echo_port = free_port(), free_port()
        backend_env = {**os.environ, "AGAVE_ISSUER": url, "AGAVE_TENANT": TENANT}
        whoami = Service(
            "whoami",
            [sys.executable, "-m", "uvicorn", "whoami:app", "--port", str(whoami_port)],
            whoami_port,
            workdir,
            backend_env,
        )
        started.append(whoami)
        echo = Service(
            "echo",
            [sys.executable, str(Path(__file__).with_name("echo_backend.py")), str(echo_port)],
            echo_port,
            workdir,
            backend_env,
        )
        started.append(echo)
        for api in ("Jobs", "Files"):
            first.admin("apis", "update", api, "--tenant", TENANT, "--backend", whoami.url)
        first.admin("apis", "add", "Jobs", "--tenant", TENANT, "--version", "v3")
        first.admin(
            "apis", "update", "Jobs", "--tenant", TENANT, "--version", "v3", "--backend", whoami.url
        )
        first.admin("apis", "add", "Echo", "--tenant", TENANT, "--default", "--backend", echo.url)
        stack = Gateway([first, second], nginx_port, whoami, echo, workdir, env, url)
        stack.nginx = NginxProcess(workdir / "nginx", stack.config(), nginx_port).start()
        return stack
    except BaseException:
        for thing in reversed(started):
            thing.stop()
        first.close()
        second.close()
        raise


@pytest.fixture(scope="session")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gateway]:
    require_nginx()
    stack = _start_stack(tmp_path_factory.mktemp("gateway"))
    try:
        yield stack
    finally:
        if stack.nginx is not None:
            stack.nginx.stop()
        stack.whoami.stop()
        stack.echo.stop()
        for thing in stack.extra:
            thing.close()
        for srv in reversed(stack.servers):
            srv.close()


# -- HTTP helpers, as users' tools do it ------------------------------------------------------


@dataclass
class App:
    """A user's OAuth client made through the gateway, and a token for it."""

    user: User
    name: str
    key: str
    secret: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.key, self.secret)


@dataclass
class ShortLived:
    """A short-lived access token and the monotonic time by which it has expired."""

    token: str
    expired_by: float

    def wait_until_expired(self) -> None:
        time.sleep(max(0.0, self.expired_by - time.monotonic()))


def new_app(gw: Gateway, user: User | None = None, tier: str = "Unlimited") -> App:
    user = user or gw.new_user(email="end@example.org", first_name="End", last_name="User")
    name = unique_name("app")
    with gw.http() as http:
        r = http.post("/clients/v2", data={"clientName": name, "tier": tier}, auth=user.auth)
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    return App(user, name, result["consumerKey"], result["consumerSecret"])


def token_for(gw: Gateway, app: App, base_url: str | None = None) -> dict:
    with httpx.Client(base_url=base_url or gw.url, timeout=30) as http:
        r = http.post(
            "/token",
            data={
                "grant_type": "password",
                "username": app.user.username,
                "password": app.user.password,
                "scope": "PRODUCTION",
            },
            auth=app.auth,
        )
    assert r.status_code == 200, r.text
    return r.json()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def raw_request(port: int, target: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    """One GET with the request target exactly as given (httpx would normalise it)."""
    lines = [f"GET {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", "Connection: close"]
    lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        s.sendall(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    return status, body.decode("utf-8", "replace")
