"""Portal tests: one real server per module, headless Chromium, and the real ``agave`` CLI."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.conftest import sign_in  # noqa: F401  (re-exported for the tests)
from tests.cli.conftest import Agave
from tests.conftest import User, unique_name
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def portal_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("portal"), workers=1)
    with srv:
        yield srv


@pytest.fixture
def portal_user(portal_server: ServerProcess) -> Callable[..., User]:
    def _new(**profile) -> User:
        user = User(unique_name("pu"), "pw-" + secrets.token_urlsafe(12))
        portal_server.add_user(user.username, user.password, **profile)
        return user

    return _new


@pytest.fixture
def cli(portal_server: ServerProcess, tmp_path: Path) -> Agave:
    """``agave`` on this module's server, with its own cache folder and the tenant set."""
    cache = tmp_path / "agave-cache"
    cache.mkdir()
    agave = Agave(portal_server, cache)
    agave.ok("tenants", "init", "sd2e")
    return agave
