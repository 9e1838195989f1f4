"""Start the real ``agave-server`` on an ephemeral loopback port for tests.

Tests talk HTTP to this process exactly as users' tools do; nothing here
mocks the server. Each ``ServerProcess`` owns its database: a SQLite file in
its own folder, or, when ``AGAVE_TEST_DATABASE_URL`` is set, a PostgreSQL
database of its own that is dropped when the server is stopped.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent
AGAVE_SERVER = str(BIN / "agave-server")
AGAVE = str(BIN / "agave")


# The suite spends most of its time hashing passwords with the production parameters; tests
# check behaviour, not hash strength. The caller's environment (or env=) overrides these.
CHEAP_ARGON2 = {
    "AGAVE_SERVER_ARGON2_TIME_COST": "1",
    "AGAVE_SERVER_ARGON2_MEMORY_KIB": "8192",
    "AGAVE_SERVER_ARGON2_PARALLELISM": "1",
}


def production_argon2() -> dict[str, str]:
    """``env=`` for a server that hashes like a real one (benchmarks): the server's defaults
    (empty means default), or what the caller's environment sets."""
    return {name: os.environ.get(name, "") for name in CHEAP_ARGON2}


def free_port() -> int:
    """A port that was free a moment ago (the server retries if it is taken)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _pg_admin_url(url: str) -> str:
    """psycopg wants a libpq URL: drop SQLAlchemy's ``+driver`` suffix."""
    _scheme, rest = url.split("://", 1)
    return "postgresql://" + rest


class PostgresDatabase:
    """A throwaway database on the server that ``AGAVE_TEST_DATABASE_URL`` names."""

    def __init__(self, base_url: str) -> None:
        import psycopg

        self._psycopg = psycopg
        self.base_url = _pg_admin_url(base_url)
        self.name = "agave_t_" + secrets.token_hex(6)
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        head, _, _ = self.base_url.rpartition("/")
        self.url = f"{head}/{self.name}".replace("postgresql://", "postgresql+psycopg://", 1)

    def drop(self) -> None:
        with self._psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class ServerProcess:
    """One ``agave-server serve`` process (or several workers) plus its admin CLI."""

    def __init__(
        self,
        workdir: Path,
        *,
        workers: int = 1,
        tenants: tuple[tuple[str, str], ...] = (("sd2e", "SD2E Tenant"),),
        env: dict[str, str] | None = None,
        db_url: str | None = None,
    ) -> None:
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.workers = workers
        self._pg: PostgresDatabase | None = None
        pg_base = os.environ.get("AGAVE_TEST_DATABASE_URL")
        if db_url is None and pg_base:
            self._pg = PostgresDatabase(pg_base)
            db_url = self._pg.url
        self.db_url = db_url or f"sqlite:///{self.workdir / 'agave.db'}"
        self.env = {
            **CHEAP_ARGON2,
            **os.environ,
            "AGAVE_SERVER_DB": self.db_url,
            "AGAVE_SERVER_DATA_DIR": str(self.workdir),
            **(env or {}),
        }
        self.env.pop("AGAVE_TENANTS_API_BASEURL", None)
        self.port = free_port()
        self.host = "127.0.0.1"
        self.base_url = f"http://{self.host}:{self.port}"
        self.tenants_url = f"{self.base_url}/tenants"
        self.log_path = self.workdir / "server.log"
        self.proc: subprocess.Popen[bytes] | None = None
        self.admin("migrate")
        for code, name in tenants:
            self.admin("tenants", "add", code, "--name", name, "--base-url", self.base_url + "/")

    # -- admin CLI ---------------------------------------------------------
    def admin(self, *args: str, input: str | None = None, check: bool = True):
        """Run ``agave-server ARGS`` against this server's database."""
        res = subprocess.run(
            [AGAVE_SERVER, *args],
            input=input,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )
        if check and res.returncode != 0:
            raise AssertionError(
                f"agave-server {' '.join(args)} exited {res.returncode}\n"
                f"stdout: {res.stdout}\nstderr: {res.stderr}"
            )
        return res

    def add_user(
        self,
        username: str,
        password: str,
        *,
        tenant: str = "sd2e",
        admin: bool = False,
        email: str | None = None,
        first_name: str | None = None,
        last_name: str | None = None,
    ) -> None:
        args = ["users", "add", username, "--tenant", tenant, "--password-stdin"]
        if admin:
            args.append("--admin")
        for flag, value in (
            ("--email", email),
            ("--first-name", first_name),
            ("--last-name", last_name),
        ):
            if value is not None:
                args += [flag, value]
        self.admin(*args, input=password + "\n")

    # -- process -----------------------------------------------------------
    def start(self, timeout: float = 30.0) -> ServerProcess:
        cmd = [
            AGAVE_SERVER,
            "serve",
            "--host",
            self.host,
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
        ]
        log = open(self.log_path, "ab")  # noqa: SIM115 - owned by the child
        self.proc = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env, start_new_session=True
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"agave-server exited {self.proc.returncode}:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base_url + "/health", timeout=1).status_code == 200:
                    return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"agave-server did not answer /health in {timeout}s:\n{self.log()}")

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except FileNotFoundError:
            return ""

    def _signal(self, sig: int) -> None:
        if self.proc and self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully (SIGTERM to the process group), then force."""
        if not self.proc:
            return
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._signal(signal.SIGKILL)
            self.proc.wait(5)
        self.proc = None

    def kill(self) -> None:
        """kill -9 every process of the server, as a crash would."""
        if not self.proc:
            return
        self._signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def close(self) -> None:
        self.stop()
        if self._pg is not None:
            self._pg.drop()
            self._pg = None

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- conveniences ----------------------------------------------------------
    def client(self, **kw) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, timeout=30, **kw)
