"""Our tenant server under benchmark: start it, seed it, read its memory.

The server is started exactly as the tests start it (``tests/support/server.py``:
the real ``agave-server serve``, its own SQLite file or a throwaway PostgreSQL
database when ``AGAVE_TEST_DATABASE_URL`` is set, dropped afterwards). Users
and the benchmark client go through the admin CLI and HTTP; only the bulk data
(thousands of clients, refresh tokens) goes through the server's storage
layer, see ``bench/seed.py``.
"""

from __future__ import annotations

from pathlib import Path

import httpx
from sqlalchemy import select
from tests.support.server import ServerProcess, production_argon2

from bench.procs import worker_rss

TENANT = "sd2e"


class OurServer:
    """``agave-server serve --workers N`` plus the benchmark's user and client."""

    def __init__(self, workdir: Path, workers: int) -> None:
        # The server's real argon2 parameters, not the test suite's cheap ones.
        self.process = ServerProcess(workdir, workers=workers, env=production_argon2())
        self.url = self.process.base_url
        self.tenant = TENANT
        self.username = "benchuser"
        self.password = "bench-" + "pw-9f3kQz7LmX2a"
        self.consumer_key = ""
        self.consumer_secret = ""

    @property
    def db_url(self) -> str:
        return self.process.db_url

    @property
    def user_basic(self) -> str:
        return f"{self.username}:{self.password}"

    @property
    def client_basic(self) -> str:
        return f"{self.consumer_key}:{self.consumer_secret}"

    def start(self) -> None:
        self.process.start(timeout=60)
        self.add_user(self.username, self.password)
        client = self.create_client(self.username, self.password, "bench-client")
        self.consumer_key, self.consumer_secret = client["consumerKey"], client["consumerSecret"]

    def close(self) -> None:
        self.process.close()

    def add_user(self, username: str, password: str) -> None:
        self.process.add_user(
            username,
            password,
            tenant=TENANT,
            email=f"{username}@example.org",
            first_name="Bench",
            last_name="User",
        )

    def create_client(self, username: str, password: str, name: str) -> dict:
        resp = httpx.post(
            f"{self.url}/clients/v2",
            auth=(username, password),
            data={"clientName": name, "description": "benchmark client"},
            timeout=60,
        )
        if resp.status_code != 201:
            raise RuntimeError(f"POST /clients/v2 answered {resp.status_code}: {resp.text[:300]}")
        return resp.json()["result"]

    def password_grant(self) -> dict:
        resp = httpx.post(
            f"{self.url}/token",
            auth=(self.consumer_key, self.consumer_secret),
            data={
                "grant_type": "password",
                "username": self.username,
                "password": self.password,
                "scope": "PRODUCTION",
            },
            timeout=60,
        )
        if resp.status_code != 200:
            raise RuntimeError(f"password grant answered {resp.status_code}: {resp.text[:300]}")
        return resp.json()

    def switch_token_format(self, fmt: str, timeout: float = 30.0) -> str:
        """Make the tenant issue ``fmt`` ("jwt" or "opaque") access tokens; returns one.

        The running workers see the change once their tenant cache expires (a few seconds),
        so this asks for tokens until one has the new format.
        """
        import time

        self.process.admin("tenants", "update", TENANT, "--access-token-format", fmt)
        deadline = time.monotonic() + timeout
        while True:
            token = self.password_grant()["access_token"]
            if (token.count(".") == 2) == (fmt == "jwt"):
                return token
            if time.monotonic() > deadline:
                raise RuntimeError(f"the tenant still issues non-{fmt} tokens after {timeout} s")
            time.sleep(0.5)

    def stored_password_hash(self) -> str:
        """The argon2 string the server stored for the benchmark user: its real parameters."""
        from agave_server.models import users
        from agave_server.storage.database import Database

        db = Database(self.db_url)
        try:
            with db.read() as conn:
                return conn.execute(
                    select(users.c.password_hash).where(users.c.username == self.username)
                ).scalar_one()
        finally:
            db.dispose()

    def worker_rss(self):
        assert self.process.proc is not None
        return worker_rss(self.process.proc.pid, "spawn_main")

    def __enter__(self) -> OurServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
