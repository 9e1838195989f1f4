"""Device login tests: one real server per module (polling every second), the real ``agave``
on a pseudo-terminal, the real pages in headless Chromium (``tests/support/browser.py``).

Approvals go through the pages: in Chromium where a person's clicks are the point, over
plain HTTP (same forms, same CSRF tokens, a cookie jar) where only the outcome matters.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pexpect
import pytest

from tests.cli.conftest import Agave as Cli
from tests.conftest import User, unique_name
from tests.support.server import ServerProcess

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
CODE = re.compile(r"enter the code:\s+([A-Z]{4}-[A-Z]{4})")
COMPLETE = re.compile(r"\(or open (http\S+) \)")
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
FAST_POLLING = {"AGAVE_SERVER_DEVICE_POLL_INTERVAL": "1"}


@pytest.fixture(scope="module")
def device_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("device"), env=FAST_POLLING)
    with srv:
        yield srv


@pytest.fixture
def person(device_server: ServerProcess) -> Callable[..., User]:
    """Users of the device server: ``person()``."""

    def _new(**profile) -> User:
        user = User(unique_name("dev"), "pw-" + secrets.token_urlsafe(12))
        device_server.add_user(user.username, user.password, **profile)
        return user

    return _new


def cli_for(server: ServerProcess, cache: Path) -> Cli:
    """``agave`` with its own ~/.agave, no password anywhere, and no display to open."""
    cache.mkdir(parents=True, exist_ok=True)
    cli = Cli(server, cache)
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "BROWSER"):
        cli.env.pop(name, None)
    return cli


@pytest.fixture
def cli(device_server: ServerProcess, tmp_path: Path) -> Cli:
    return cli_for(device_server, tmp_path / "agave-cache")


def start_login(cli: Cli, *args: str) -> tuple[pexpect.spawn, str, str]:
    """``agave login ARGS`` on a pseudo-terminal; returns (child, user code, complete URI)."""
    child = cli.spawn("login", *args)
    child.timeout = 90
    child.expect(CODE)
    code = child.match.group(1)
    child.expect(COMPLETE)
    return child, code, child.match.group(1)


def finish(child: pexpect.spawn) -> tuple[int, str]:
    """Wait for the command to end: (exit status, what it printed after the code)."""
    child.expect(pexpect.EOF)
    out = child.before
    child.close()
    return child.exitstatus, out


def approve_in_browser(tab, complete_uri: str, code: str, user: User, decision: str) -> None:
    """What a person does with the printed link: check the code, sign in, read, decide."""
    tab.goto(complete_uri)
    assert tab.get_by_label("Code").input_value() == code  # pre-filled from the link
    tab.get_by_role("button", name="Continue").click()
    tab.get_by_label("Username").fill(user.username)
    tab.get_by_label("Password").fill(user.password)
    tab.get_by_role("button", name="Sign in").click()
    tab.get_by_role("heading", name="Sign in a device?").wait_for()
    main = tab.inner_text("main")
    assert code in main
    assert "You are signing in a device" in main and "Only continue if you started" in main
    assert "command line" in main  # the client is named
    tab.shot("approval")
    tab.get_by_role("button", name=decision, exact=True).click()
    done = "Device signed in" if decision == "Allow" else "Device not signed in"
    tab.get_by_role("heading", name=done).wait_for()


def _csrf(html: str) -> str:
    found = CSRF.search(html)
    assert found, html[:500]
    return found.group(1)


def approve_over_http(base_url: str, user: User, code: str, decision: str = "allow") -> None:
    """The same pages driven with a cookie jar: sign in, enter the code, decide."""
    with httpx.Client(base_url=base_url, timeout=30) as web:
        login = web.get("/login")
        signed = web.post(
            "/login",
            data={
                "csrf_token": _csrf(login.text),
                "username": user.username,
                "password": user.password,
            },
        )
        assert signed.status_code == 303, signed.text[:500]
        entry = web.get("/device", params={"user_code": code})
        sent = web.post("/device", data={"csrf_token": _csrf(entry.text), "user_code": code})
        assert sent.status_code == 303, sent.text[:500]
        approval = web.get(sent.headers["location"])
        assert approval.status_code == 200 and "Sign in a device?" in approval.text
        shown = re.search(r'name="user_code" value="([A-Z]{4}-[A-Z]{4})"', approval.text)
        assert shown, approval.text[:500]
        assert shown.group(1).replace("-", "") == code.upper().replace("-", "").replace(" ", "")
        done = web.post(
            "/device/approve",
            data={
                "csrf_token": _csrf(approval.text),
                "user_code": shown.group(1),
                "decision": decision,
            },
        )
        assert done.status_code == 200, done.text[:500]


def device_authorize(http: httpx.Client, auth: tuple[str, str] | None = None) -> dict:
    """Start a device login as the CLI's public client, or as a client with key:secret."""
    data = {"client_id": "agave-cli"} if auth is None else {}
    answer = http.post("/oauth2/device/authorize", data=data, auth=auth)
    assert answer.status_code == 200, answer.text
    return answer.json()


def poll(http: httpx.Client, device_code: str, auth: tuple[str, str] | None = None):
    """One poll of the token endpoint with the device code."""
    data = {"grant_type": DEVICE_GRANT, "device_code": device_code}
    if auth is None:
        data["client_id"] = "agave-cli"
    return http.post("/token", data=data, auth=auth)
