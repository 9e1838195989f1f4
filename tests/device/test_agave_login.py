"""The whole story of issue 12 on a machine with no browser: ``agave login`` prints a code,
a person approves it in (headless) Chromium elsewhere, and then everything works with no
password typed: the clients API, agavepy 0.9.5 reading the saved session, logout.

The tenant is served over HTTPS (``tests/support/tls.py``): agavepy 0.9.5 calls its APIs on
``https://`` whatever the saved base URL says.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap

import pytest

from tests.conftest import User
from tests.device.conftest import FAST_POLLING, approve_in_browser, cli_for, finish, start_login
from tests.support.browser import Page
from tests.support.server import AGAVE
from tests.support.tls import TlsServer

# The test CA is trusted the way a site with a private CA configures requests' bundle: 0.9.5's
# swagger client sends with Session.send, which ignores REQUESTS_CA_BUNDLE.
RESTORE_095 = textwrap.dedent(
    """
    import os, certifi
    certifi.where = lambda: os.environ["REQUESTS_CA_BUNDLE"]
    from agavepy.agave import Agave
    ag = Agave.restore()
    print("PROFILE", ag.profiles.get()["username"])
    """
)


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory):
    srv = TlsServer(tmp_path_factory.mktemp("tls"), env=FAST_POLLING)
    with srv:
        yield srv


def _me(server: TlsServer, token: str) -> int:
    with server.client() as http:
        return http.get("/profiles/v2/me", headers={"Authorization": f"Bearer {token}"}).status_code


def test_login_in_a_terminal_approved_in_chromium(tls_server, browser, agavepy095, tmp_path):
    device_server = tls_server
    user = User("dev-tls", "pw-dev-tls-secret")
    device_server.add_user(user.username, user.password, email="dev@example.org")
    cli = cli_for(device_server, tmp_path / "agave-cache")
    cli.env.update(device_server.trust_env)
    context = browser.new_context(ignore_https_errors=True)
    page = Page(context.new_page(), tmp_path / "shots")
    child, code, complete = start_login(cli, "--tenant", "sd2e")
    assert complete == f"{device_server.base_url}/device?user_code={code}"
    approve_in_browser(page, complete, code, user, "Allow")
    context.close()
    status, out = finish(child)
    assert status == 0, out
    assert f"Logged in to tenant sd2e as {user.username}" in out

    saved = cli.current()
    assert (saved["tenantid"], saved["username"], saved["apikey"]) == (
        "sd2e",
        user.username,
        "agave-cli",
    )
    assert saved["apisecret"] == "" and saved["access_token"] and saved["refresh_token"]
    assert saved["login"] == "device"
    token = saved["access_token"]

    # agavepy 0.9.5, unchanged, uses the saved session (its own ~/.agave/current reader).
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGAVE_")}
    env.update(AGAVE_CACHE_DIR=str(cli.cache_dir), HOME=str(tmp_path), **device_server.trust_env)
    old = subprocess.run(
        [str(agavepy095), "-c", RESTORE_095],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert f"PROFILE {user.username}" in old.stdout, old.stdout + old.stderr

    status_out = cli.ok("auth", "status", "--json").json()
    assert status_out["username"] == user.username and status_out["login"] == "device"
    shown = cli.ok("auth", "status").out
    assert "device code" in shown and token not in shown and saved["refresh_token"] not in shown

    # No password in the environment, stdin from /dev/null: the login's token is used.
    created = subprocess.run(
        [AGAVE, "clients", "create", "-N", "after_login", "--json"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        env=cli.env,
        timeout=120,
    )
    assert created.returncode == 0, created.stdout + created.stderr
    assert json.loads(created.stdout)["name"] == "after_login"
    listed = cli.ok("clients", "list", "--json").json()
    assert [c["name"] for c in listed] == ["after_login"]  # agave-cli itself is never listed
    cli.ok("clients", "subscribe", "PublicKeys")
    subs = cli.ok("clients", "subscriptions", "--json").json()
    assert "PublicKeys" in {s["apiName"] for s in subs}
    assert cli.ok("whoami", "--json").json()["username"] == user.username

    assert _me(device_server, token) == 200
    out = cli.ok("logout").out
    assert "Logged out of tenant sd2e" in out
    assert _me(device_server, token) == 401
    assert "agave-cli" not in cli.config()["sessions"]["sd2e"][user.username]
    refused = cli("clients", "list")
    assert refused.code == 2 and "no password given" in refused.err
