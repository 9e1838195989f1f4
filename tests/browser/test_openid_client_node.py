"""panva's openid-client (node), pointed only at the issuer, through a real sign-in.

Runs when node is installed and ``AGAVE_TEST_OPENID_CLIENT`` names a folder where
``npm install openid-client@6`` was run (the suite never downloads packages itself)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.flows import answer_consent, register_client, sign_in_if_asked
from tests.browser.relying_party import Callback

SCRIPT = Path(__file__).with_name("openid_client_rp.mjs")


def _entry() -> str | None:
    folder = os.environ.get("AGAVE_TEST_OPENID_CLIENT")
    if not folder:
        return None
    entry = Path(folder) / "node_modules" / "openid-client" / "build" / "index.js"
    return str(entry) if entry.is_file() else None


pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or _entry() is None,
    reason="needs node and AGAVE_TEST_OPENID_CLIENT=<folder with npm install openid-client@6>",
)


def _node(*args: str) -> dict:
    done = subprocess.run(
        ["node", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OPENID_CLIENT": _entry() or ""},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_openid_client_signs_in(web_server, web_user, page) -> None:
    callback = Callback()
    try:
        owner = web_user(email="kat@example.org")
        client = register_client(web_server, owner, callback.url)
        common = (web_server.base_url, client.key, client.secret, client.callback)
        started = _node("start", *common)
        page.goto(started["url"])
        sign_in_if_asked(page, owner)
        answer_consent(page, "Allow")
        url = callback.wait()
        done = _node("finish", *common, url, json.dumps(started))
        assert done["claims"]["sub"] == owner.username
        assert done["claims"]["iss"] == web_server.base_url
        assert done["userinfo"]["email"] == "kat@example.org"
        assert done["refreshed"] is True
    finally:
        callback.close()
