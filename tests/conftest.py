"""Fixtures shared by the whole suite: a real server, users, clients.

The session-wide ``server`` is one ``agave-server`` process on SQLite (or on a
PostgreSQL database of its own when ``AGAVE_TEST_DATABASE_URL`` is set).
Tests that need special settings start their own with ``make_server``.
Every test gets fresh users (``new_user``) so tests never see each other's
clients.
"""

from __future__ import annotations

import itertools
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess

# The browser fixtures (one headless Chromium per run), for every directory that needs them.
pytest_plugins = ["tests.support.browser"]

_counter = itertools.count(1)


@dataclass
class User:
    username: str
    password: str
    tenant: str = "sd2e"

    @property
    def auth(self) -> tuple[str, str]:
        return (self.username, self.password)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("server"), workers=1)
    with srv:
        yield srv


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., ServerProcess]]:
    """Start extra servers with their own settings; all are stopped after the test."""
    started: list[ServerProcess] = []

    def _make(**kw) -> ServerProcess:
        srv = ServerProcess(tmp_path / f"srv{len(started)}", **kw)
        started.append(srv)
        return srv.start()

    yield _make
    for srv in started:
        srv.close()


def unique_name(prefix: str = "u") -> str:
    return f"{prefix}{next(_counter)}x{secrets.token_hex(3)}"


@pytest.fixture
def new_user(server: ServerProcess) -> Callable[..., User]:
    """Create users on the session server: ``new_user()`` or ``new_user(admin=True)``."""

    def _new(admin: bool = False, tenant: str = "sd2e", **profile) -> User:
        user = User(unique_name("user"), "pw-" + secrets.token_urlsafe(12), tenant)
        server.add_user(user.username, user.password, tenant=tenant, admin=admin, **profile)
        return user

    return _new


@pytest.fixture
def user(new_user: Callable[..., User]) -> User:
    return new_user(email="someone@example.org", first_name="Some", last_name="One")


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with server.client() as c:
        yield c


@pytest.fixture(scope="session")
def agavepy095() -> Path:
    """A Python interpreter with agavepy 0.9.5 from the package index."""
    from tests.support.legacy import agavepy095_python

    return agavepy095_python()
