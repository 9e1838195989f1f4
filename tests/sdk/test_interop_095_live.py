"""agavepy 0.9.5 and our SDK taking turns on one saved session, against the real server.

0.9.5 creates a client and a token (its prompts answered on stdin, detached
from any terminal so getpass reads stdin) and saves its session; we restore
it and use it; then 0.9.5 loads what we saved and refreshes with it. The
server issues short-lived tokens so 0.9.5's ``refresh_tokens`` (which only
refreshes within 60 s of expiry) really refreshes.
"""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest

from agavepy.agave import Agave
from tests.conftest import User


def run_095(python: Path, code: str, home: Path, stdin: str = "") -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGAVE_")}
    env["HOME"] = str(home)
    res = subprocess.run(
        [str(python), "-c", textwrap.dedent(code)],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        start_new_session=True,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    return res.stdout


@pytest.mark.slow
def test_sessions_pass_between_agavepy095_and_us(agavepy095, make_server, tmp_path):
    srv = make_server(env={"AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": "30"})
    user = User("interop", "pw-interop-095")
    srv.add_user(user.username, user.password)
    cache = tmp_path / "agave"

    run_095(
        agavepy095,
        f"""
        from agavepy.agave import Agave
        ag = Agave(api_server={srv.base_url!r}, username={user.username!r})
        ag.tenant_id = "sd2e"
        ag.clients_create("old095", "made by agavepy 0.9.5")
        ag.get_access_token()
        ag.save_configs({str(cache)!r})
    """,
        tmp_path,
        stdin=f"{user.password}\n{user.password}\n",
    )

    ours = Agave.restore(cache_dir=cache, prompt=False)
    assert (ours.client_name, ours.username, ours.tenant_id) == ("old095", "interop", "sd2e")
    assert ours.profile().username == "interop"  # 0.9.5's token works through our SDK
    ours.tokens.refresh(force=True)  # rotation: 0.9.5's refresh token is now retired
    assert ours.profile().username == "interop"
    ours.close()

    out = run_095(
        agavepy095,
        f"""
        from agavepy.agave import Agave
        ag = Agave(api_server="http://unused")
        ag.load_configs({str(cache)!r})
        old = ag.token
        ag.refresh_tokens()
        assert ag.token != old
        ag.save_configs({str(cache)!r})
        print(ag.token)
    """,
        tmp_path,
    )
    assert out.splitlines() == ["Refreshing token...", out.splitlines()[-1]]

    again = Agave.restore(cache_dir=cache, prompt=False)
    assert again.token == out.splitlines()[-1]
    assert again.profile().username == "interop"
    current = json.loads((cache / "current").read_text())
    assert current["apikey"] == again.api_key
    again.close()
