"""Browser tests: one real server per module, one headless Chromium for the session."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.conftest import User, unique_name
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def web_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The module's server, its tenant cache off: tests that run ``tenants update`` (the access
    token format, for one) must see the change at once, not up to five seconds later."""
    env = {"AGAVE_SERVER_TENANT_CACHE_SECONDS": "0"}
    srv = ServerProcess(tmp_path_factory.mktemp("web"), workers=1, env=env)
    with srv:
        yield srv


@pytest.fixture
def web_user(web_server: ServerProcess) -> Callable[..., User]:
    def _new(**profile) -> User:
        user = User(unique_name("web"), "pw-" + secrets.token_urlsafe(12))
        web_server.add_user(user.username, user.password, **profile)
        return user

    return _new


@pytest.fixture
def anon(web_server: ServerProcess) -> Iterator[httpx.Client]:
    """A plain HTTP client with a cookie jar, for what a browser cannot be made to do."""
    with httpx.Client(base_url=web_server.base_url, timeout=30) as c:
        yield c


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def sign_in(tab, base_url: str, user: User, next_path: str | None = None) -> None:
    """Fill the sign-in form in the browser, as a person would."""
    url = base_url + "/login" + (f"?next={next_path}" if next_path else "")
    tab.goto(url)
    tab.get_by_label("Username").fill(user.username)
    tab.get_by_label("Password").fill(user.password)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_load_state()
