"""Start the real ``agave-server`` on an ephemeral loopback port, and stop it by its pid.

The one helper for every program of the repository that needs a running tenant server: the
test suite (``tests/support/server.py`` re-exports it), the demo, the benchmarks and
``scripts/scale_bench.py``. Each :class:`ServerProcess` owns its database: a SQLite file in its
own folder, or, when ``AGAVE_TEST_DATABASE_URL`` is set and no ``db_url`` is given, a
PostgreSQL database of its own that is dropped when the server is closed.

Processes are started in a new session and stopped through the process group of the pid we
hold, never by name: other people run the same programs on the same machine.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
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


class ServerError(AssertionError):
    """The server did not start, or an admin command failed; the message has its output.

    An ``AssertionError`` so that in a test it reads as the failed expectation it is.
    ``summary`` is one line for people (the demo prints it).
    """

    def __init__(self, message: str, summary: str | None = None) -> None:
        super().__init__(message)
        self.summary = summary or message.strip().splitlines()[0]


def production_argon2() -> dict[str, str]:
    """``env=`` for a server that hashes like a real one (benchmarks, the demo): the server's
    defaults (empty means default), or what the caller's environment sets."""
    return {name: os.environ.get(name, "") for name in CHEAP_ARGON2}


_HANDED_OUT: set[int] = set()
_HANDED_OUT_LOCK = threading.Lock()


def free_port() -> int:
    """A loopback port that was free a moment ago and that this process has not handed out before.

    A port is often chosen well before its process binds it (nginx's port goes into the tenant's
    base URL before the servers start): without the memory, a second call in between can get the
    same port from the kernel, and one process then answers for the other.
    """
    with _HANDED_OUT_LOCK:
        for _ in range(200):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                return port
    raise OSError("no loopback port left that this process has not already handed out")


def wait_http(
    url: str, *, want: int = 200, proc: subprocess.Popen | None = None, timeout: float = 60.0
) -> None:
    """Poll ``url`` until it answers ``want``; fail fast (ServerError) if ``proc`` died."""
    deadline = time.monotonic() + timeout
    last = "no answer"
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ServerError(f"process exited with {proc.returncode} before {url} answered")
        try:
            status = httpx.get(url, timeout=2).status_code
            if status == want:
                return
            last = f"HTTP {status}"
        except httpx.HTTPError as e:
            last = type(e).__name__
        time.sleep(0.05)
    raise ServerError(f"{url} did not answer {want} within {timeout:.0f} s (last: {last})")


def start_process_group(cmd: list[str], env: dict[str, str], log_path: Path) -> subprocess.Popen:
    """Start ``cmd`` as the leader of a new process group, its output appended to ``log_path``."""
    with open(log_path, "ab") as log:
        return subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )


def signal_group(proc: subprocess.Popen, sig: int) -> None:
    """Send ``sig`` to the group led by ``proc`` (started with ``start_new_session``)."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)


def stop_process_group(proc: subprocess.Popen, timeout: float = 15.0) -> None:
    """SIGTERM the group led by ``proc``, then SIGKILL if it lingers."""
    if proc.poll() is not None:
        return
    signal_group(proc, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


def _pg_admin_url(url: str) -> str:
    """psycopg wants a libpq URL: drop SQLAlchemy's ``+driver`` suffix."""
    _scheme, rest = url.split("://", 1)
    return "postgresql://" + rest


class PostgresDatabase:
    """A throwaway database on the PostgreSQL server that ``base_url`` names."""

    def __init__(self, base_url: str, prefix: str = "agave_t_") -> None:
        import psycopg

        self._psycopg = psycopg
        self.base_url = _pg_admin_url(base_url)
        self.name = prefix + secrets.token_hex(6)
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{self.name}"')
        head, _, _ = self.base_url.rpartition("/")
        #: The SQLAlchemy URL (``postgresql+psycopg://``) for ``agave-server --db``.
        self.url = f"{head}/{self.name}".replace("postgresql://", "postgresql+psycopg://", 1)
        #: The libpq URL, for psycopg.
        self.libpq_url = f"{head}/{self.name}"

    def drop(self) -> None:
        with self._psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')


class ServerProcess:
    """One ``agave-server serve`` process (or several workers) plus its admin CLI.

    The constructor migrates the database and adds ``tenants`` (``migrate=False`` leaves the
    database untouched, for tests of ``serve`` migrating at start). ``workers`` and ``env``
    may be changed between a ``stop()`` and the next ``start()``: the port stays the same.
    """

    def __init__(
        self,
        workdir: Path,
        *,
        workers: int = 1,
        tenants: tuple[tuple[str, str], ...] = (("sd2e", "SD2E Tenant"),),
        env: dict[str, str] | None = None,
        db_url: str | None = None,
        migrate: bool = True,
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
        if migrate:
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
            timeout=300,
        )
        if check and res.returncode != 0:
            said = (res.stderr.strip() or res.stdout.strip() or "no output").splitlines()[-1]
            raise ServerError(
                f"agave-server {' '.join(args)} exited {res.returncode}\n"
                f"stdout: {res.stdout}\nstderr: {res.stderr}",
                summary=f"agave-server {args[0] if args else ''} failed: {said}",
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
    def launch(self) -> subprocess.Popen[bytes]:
        """Start ``agave-server serve`` without waiting for it (see :meth:`wait_ready`)."""
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
        self.proc = start_process_group(cmd, self.env, self.log_path)
        return self.proc

    def wait_ready(self, timeout: float = 30.0) -> ServerProcess:
        """Wait until ``/health`` answers 200; stop the server and fail if it does not."""
        assert self.proc is not None, "launch() first"
        try:
            wait_http(self.base_url + "/health", want=200, proc=self.proc, timeout=timeout)
        except ServerError as exc:
            self.stop()
            raise ServerError(f"agave-server did not start: {exc}\n{self.log()}") from None
        return self

    def start(self, timeout: float = 30.0) -> ServerProcess:
        """Start serving and wait until ``/health`` answers."""
        self.launch()
        return self.wait_ready(timeout)

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")[-8000:]
        except FileNotFoundError:
            return ""

    def _signal(self, sig: int) -> None:
        if self.proc:
            signal_group(self.proc, sig)

    def stop(self, timeout: float = 15.0) -> None:
        """Stop gracefully (SIGTERM to the process group), then force."""
        if not self.proc:
            return
        stop_process_group(self.proc, timeout)
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
