"""Several real ``agave-server`` processes on ONE database, as behind a proxy.

A ``Cluster`` is what an operator runs when one process is not enough: N
``agave-server serve`` processes, each on its own port, all on the same
database (the SQLite file of the first, or its PostgreSQL database when
``AGAVE_TEST_DATABASE_URL`` is set). Every request carries the ``Host`` of
the tenant's base URL, as a reverse proxy that preserves ``Host`` would send
it, so the tenant is chosen the same way by every process.

This module only starts and stops processes and offers plain HTTP helpers;
what is correct is for the tests to say.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

import httpx

from tests.support.server import ServerProcess

T = TypeVar("T")
TENANT = "sd2e"
START_TIMEOUT = 180.0


@dataclass
class Account:
    """A user of the cluster's tenant and one OAuth client of theirs."""

    username: str
    password: str
    client_name: str = ""
    key: str = ""
    secret: str = ""

    @property
    def auth(self) -> tuple[str, str]:
        return (self.username, self.password)

    @property
    def client_auth(self) -> tuple[str, str]:
        return (self.key, self.secret)


class Cluster:
    """``size`` server processes sharing one database; ``self[i]`` is one of them."""

    def __init__(
        self, workdir: Path, size: int = 4, *, env: dict[str, str] | None = None, workers: int = 1
    ) -> None:
        first = ServerProcess(workdir / "p0", env=env, workers=workers)
        self.servers = [first] + [
            ServerProcess(
                workdir / f"p{i}", db_url=first.db_url, tenants=(), env=env, workers=workers
            )
            for i in range(1, size)
        ]
        # The tenant's base URL names the first process; the others see the same Host.
        self.host = f"{first.host}:{first.port}"

    # -- lifecycle ---------------------------------------------------------
    def start(self) -> Cluster:
        """Start every process at once (each migrates at start, as in production)."""
        try:
            # Generous: on a busy 2-core CI machine a 4-worker start has taken 45 s.
            run_together([lambda srv=srv: srv.start(timeout=START_TIMEOUT) for srv in self.servers])
        except BaseException:
            self.close()
            raise
        return self

    def close(self) -> None:
        """Stop the others before the first: the first owns (and drops) the database."""
        for srv in reversed(self.servers):
            srv.close()

    def __enter__(self) -> Cluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __len__(self) -> int:
        return len(self.servers)

    def __getitem__(self, i: int) -> ServerProcess:
        return self.servers[i % len(self.servers)]

    @property
    def db_url(self) -> str:
        return self.servers[0].db_url

    def admin(self, *args: str, input: str | None = None, check: bool = True):
        """The operator CLI on the shared database."""
        return self.servers[0].admin(*args, input=input, check=check)

    # -- HTTP --------------------------------------------------------------
    def client(self, i: int) -> httpx.Client:
        """An HTTP client bound to process ``i``, speaking for the tenant's Host."""
        srv = self[i]
        return httpx.Client(base_url=srv.base_url, headers={"Host": self.host}, timeout=60)

    @contextlib.contextmanager
    def clients(self, n: int) -> Iterator[list[httpx.Client]]:
        """``n`` connected clients, spread round-robin over the processes."""
        with contextlib.ExitStack() as stack:
            cs = [stack.enter_context(self.client(i)) for i in range(n)]
            for c in cs:  # open the connections now, so a race starts at the barrier
                c.get("/health").raise_for_status()
            yield cs

    # -- accounts ------------------------------------------------------------
    def new_account(self, *, with_client: bool = True) -> Account:
        """A fresh user (and, unless told otherwise, a fresh client of theirs)."""
        acct = Account("u" + secrets.token_hex(5), "pw-" + secrets.token_urlsafe(12))
        self.servers[0].add_user(
            acct.username, acct.password, tenant=TENANT, email=f"{acct.username}@example.org"
        )
        if with_client:
            acct.client_name = "c" + secrets.token_hex(5)
            with self.client(0) as c:
                r = c.post("/clients/v2", data={"clientName": acct.client_name}, auth=acct.auth)
            assert r.status_code == 201, r.text
            result = r.json()["result"]
            acct.key, acct.secret = result["consumerKey"], result["consumerSecret"]
        return acct

    def password_grant(self, acct: Account, i: int = 0) -> dict:
        """A fresh token pair for ``acct``, issued by process ``i``."""
        with self.client(i) as c:
            r = c.post(
                "/token",
                auth=acct.client_auth,
                data={
                    "grant_type": "password",
                    "username": acct.username,
                    "password": acct.password,
                    "scope": "PRODUCTION",
                },
            )
        assert r.status_code == 200, r.text
        return r.json()


def run_together(calls: Sequence[Callable[[], T]]) -> list[T]:
    """Run every call in its own thread, released at the same instant; results in order."""
    barrier = threading.Barrier(len(calls))

    def released(fn: Callable[[], T]) -> T:
        barrier.wait(timeout=60)
        return fn()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        futures = [pool.submit(released, fn) for fn in calls]
        return [f.result() for f in futures]


def me_status(c: httpx.Client, access_token: str) -> int:
    """Status of ``GET /profiles/v2/me`` with a bearer token (200 = the token works)."""
    return c.get("/profiles/v2/me", headers={"Authorization": f"Bearer {access_token}"}).status_code
