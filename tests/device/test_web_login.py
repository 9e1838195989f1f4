"""``agave login --web``: authorization code + PKCE, the browser redirected to a one-shot
listener on 127.0.0.1 (RFC 8252), like ``gh auth login --web``; here the "browser on this
machine" is headless Chromium opening the address agave prints."""

from __future__ import annotations

import re

from tests.device.conftest import finish

ADDRESS = re.compile(r"(http://127\.0\.0\.1:\d+/oauth2/authorize\?\S+)")


def test_web_login_through_a_real_browser(device_server, person, cli, page):
    user = person()
    child = cli.spawn("login", "--tenant", "sd2e", "--web", "--no-browser")
    child.timeout = 90
    child.expect(ADDRESS)
    address = child.match.group(1)
    assert "code_challenge_method=S256" in address and "client_id=agave-cli" in address
    assert "redirect_uri=http%3A%2F%2F127.0.0.1%3A" in address
    page.goto(address)
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("button", name="Allow").click()  # a public client is always asked
    page.get_by_role("heading", name="Logged in").wait_for()
    assert page.url.startswith("http://127.0.0.1:") and "/callback?" in page.url
    status, out = finish(child)
    assert status == 0, out
    assert f"Logged in to tenant sd2e as {user.username}" in out
    saved = cli.current()
    assert saved["login"] == "web" and saved["apikey"] == "agave-cli" and saved["apisecret"] == ""
    assert cli.ok("whoami", "--json").json()["username"] == user.username
    assert cli.ok("clients", "list", "--json").json() == []  # the clients API, no password
