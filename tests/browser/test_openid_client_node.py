"""panva's openid-client (node), pointed only at the issuer, through a real sign-in.

Runs when node and npm are installed: the pinned openid-client is installed from the npm
registry into ``.cache/openid-client`` (git-ignored) at first use, as the suite's other npm
components are; ``AGAVE_TEST_OPENID_CLIENT`` may name another folder where
``npm install openid-client@6`` was run."""

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


VERSION = "6.9.0"
CACHE = Path(__file__).resolve().parents[2] / ".cache" / "openid-client"


def _entry_in(folder: Path) -> Path:
    return folder / "node_modules" / "openid-client" / "build" / "index.js"


def _installed() -> str | None:
    """openid-client's entry point, installing the pinned version into the cache if needed."""
    given = os.environ.get("AGAVE_TEST_OPENID_CLIENT")
    if given:
        entry = _entry_in(Path(given))
        return str(entry) if entry.is_file() else None
    if not _entry_in(CACHE).is_file():
        CACHE.mkdir(parents=True, exist_ok=True)
        npm = ["npm", "install", "--prefix", str(CACHE), "--no-audit", "--no-fund"]
        done = subprocess.run(
            [*npm, "--loglevel=error", f"openid-client@{VERSION}"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        if done.returncode != 0:
            pytest.skip(f"npm could not install openid-client@{VERSION}: {done.stderr[-300:]}")
    return str(_entry_in(CACHE)) if _entry_in(CACHE).is_file() else None


pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or shutil.which("npm") is None,
    reason="needs node and npm (Node 20 runs panva's openid-client)",
)


@pytest.fixture(scope="module")
def openid_client() -> str:
    entry = _installed()
    if entry is None:
        pytest.skip("openid-client is not installed in AGAVE_TEST_OPENID_CLIENT's folder")
    return entry


def _node(entry: str, *args: str) -> dict:
    done = subprocess.run(
        ["node", str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "OPENID_CLIENT": entry},
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_openid_client_signs_in(web_server, web_user, page, openid_client) -> None:
    callback = Callback()
    try:
        owner = web_user(email="kat@example.org")
        client = register_client(web_server, owner, callback.url)
        common = (web_server.base_url, client.key, client.secret, client.callback)
        started = _node(openid_client, "start", *common)
        page.goto(started["url"])
        sign_in_if_asked(page, owner)
        answer_consent(page, "Allow")
        url = callback.wait()
        done = _node(openid_client, "finish", *common, url, json.dumps(started))
        assert done["claims"]["sub"] == owner.username
        assert done["claims"]["iss"] == web_server.base_url
        assert done["userinfo"]["email"] == "kat@example.org"
        assert done["refreshed"] is True
    finally:
        callback.close()
