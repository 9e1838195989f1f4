"""``~/.agave/current`` and ``config.json``: format, permissions, atomicity, other writers.

These need no server: they check the files against docs/AGAVE_WIRE.md, against
files written the way agave-cli writes them, and against agavepy 0.9.5
itself (run as a subprocess from the ``agavepy095`` fixture).
"""

from __future__ import annotations

import json
import multiprocessing
import os
import stat
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from agavepy.agave import Agave
from agavepy.models import TokenPair
from agavepy.session import WIRE_KEYS, SessionStore

NOW = int(time.time())


def session(**over) -> dict:
    base = {
        "tenantid": "sd2e",
        "baseurl": "http://127.0.0.1:9",
        "devurl": "",
        "apikey": "KEY1",
        "apisecret": "SECRET1",
        "username": "alice",
        "access_token": "AT1",
        "refresh_token": "RT1",
        "created_at": str(NOW),
        "expires_in": "14400",
        "expires_at": "Sat Nov 28 08:00:00 UTC 2026",
    }
    base.update(over)
    return base


def read(path: Path):
    return json.loads(path.read_text())


def test_save_writes_both_files_as_the_wire_describes(tmp_path):
    store = SessionStore(tmp_path)
    store.save(session(), "cl1")
    current_text = (tmp_path / "current").read_text()
    current = json.loads(current_text)
    assert list(current) == sorted(current)
    assert set(current) == set(WIRE_KEYS)
    assert all(isinstance(v, str) for v in current.values())
    assert current_text == json.dumps(current, sort_keys=True)
    config = read(tmp_path / "config.json")
    assert config == {
        "current": {"cl1": current},
        "sessions": {"sd2e": {"alice": {"cl1": current}}},
    }
    for name in ("current", "config.json"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == [".agave.lock", "config.json", "current"]


def test_numbers_become_strings_and_unknown_keys_survive(tmp_path):
    (tmp_path / "current").write_text(json.dumps({**session(), "verify": True, "theirs": "x"}))
    (tmp_path / "config.json").write_text(
        json.dumps(
            {
                "current": {"cl1": {**session(), "verify": True}},
                "sessions": {"sd2e": {"alice": {"cl1": {**session(), "verify": True}}}},
                "extra_top": {"kept": 1},
            }
        )
    )
    ag = Agave.restore(cache_dir=tmp_path)
    assert ag.client_name == "cl1" and ag.api_key == "KEY1"
    ag.set_pair(TokenPair("AT2", "RT2", expires_in=3600, created_at=NOW + 5))
    ag.persist(make_current=False)
    current = read(tmp_path / "current")
    assert current["access_token"] == "AT2" and current["expires_in"] == "3600"
    assert current["theirs"] == "x" and current["verify"] is True
    config = read(tmp_path / "config.json")
    assert config["extra_top"] == {"kept": 1}
    assert config["sessions"]["sd2e"]["alice"]["cl1"]["refresh_token"] == "RT2"
    assert config["sessions"]["sd2e"]["alice"]["cl1"]["verify"] is True


def test_reads_current_as_agave_cli_writes_it(tmp_path):
    # agave-cli's tenants-init/auth-tokens-create: printf, unsorted, string numbers,
    # a trailing slash on baseurl, no expires_at, no config.json at all.
    (tmp_path / "current").write_text(
        '{"tenantid":"sd2e","baseurl":"http://127.0.0.1:9/","devurl":"",'
        '"apisecret":"S","apikey":"K","username":"bob","access_token":"A",'
        f'"refresh_token":"R","created_at":"{NOW}","expires_in":"14400"}}\n'
    )
    ag = Agave.restore(cache_dir=tmp_path)
    assert ag.api_server == "http://127.0.0.1:9"
    assert (ag.tenant_id, ag.username, ag.api_key, ag.api_secret) == ("sd2e", "bob", "K", "S")
    assert (ag.token, ag.refresh_token, ag.created_at, ag.expires_in) == ("A", "R", NOW, 14400)
    assert ag.expires_at  # derived from created_at + expires_in
    assert ag.client_name is None
    assert not ag.pair().is_expired()
    # Saving again under a client name keeps the file readable by the CLI.
    ag.client_name = "from-cli"
    ag.save_configs()
    current = read(tmp_path / "current")
    assert current["apikey"] == "K" and current["baseurl"] == "http://127.0.0.1:9"
    assert read(tmp_path / "config.json")["current"]["from-cli"]["apikey"] == "K"


def test_number_values_as_agavepy_writes_them(tmp_path):
    (tmp_path / "current").write_text(json.dumps(session(expires_in=14400, created_at=NOW)))
    ag = Agave.restore(cache_dir=tmp_path)
    assert (ag.expires_in, ag.created_at) == (14400, NOW)


def test_sessions_and_switch(tmp_path):
    store = SessionStore(tmp_path)
    store.save(session(), "cl1")
    store.save(session(apikey="KEY2", username="bob"), "cl2")
    refs = store.sessions()
    assert [(r.username, r.client_name, r.current) for r in refs] == [
        ("alice", "cl1", False),
        ("bob", "cl2", True),
    ]
    ag = Agave(cache_dir=tmp_path)
    ag.switch("sd2e", "alice", "cl1")
    assert ag.api_key == "KEY1" and read(tmp_path / "current")["apikey"] == "KEY1"
    assert [r.current for r in store.sessions()] == [True, False]
    restored = Agave.restore(cache_dir=tmp_path, username="bob")
    assert restored.api_key == "KEY2" and restored.client_name == "cl2"


def test_refresh_save_does_not_steal_current(tmp_path):
    store = SessionStore(tmp_path)
    store.save(session(), "cl1")
    store.save(session(apikey="KEY2"), "cl2")  # another program switched to cl2
    store.save(session(access_token="NEW"), "cl1", make_current=False)
    assert read(tmp_path / "current")["apikey"] == "KEY2"
    saved = read(tmp_path / "config.json")["sessions"]["sd2e"]["alice"]["cl1"]
    assert saved["access_token"] == "NEW"


def test_corrupt_file_is_a_clear_error(tmp_path):
    (tmp_path / "current").write_text('{"tenantid": ')
    from agavepy.errors import SessionError

    with pytest.raises(SessionError, match="current is not valid JSON"):
        Agave.restore(cache_dir=tmp_path)


def test_no_session_is_a_clear_error(tmp_path):
    from agavepy.errors import SessionError

    with pytest.raises(SessionError, match="no saved session"):
        Agave.restore(cache_dir=tmp_path)


def _hammer(cache_dir: str, worker: int, rounds: int) -> None:
    store = SessionStore(cache_dir)
    for i in range(rounds):
        store.save(session(access_token=f"AT-{worker}-{i}", apikey=f"K{worker}"), f"c{worker}")


def test_concurrent_writers_never_leave_a_broken_file(tmp_path):
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_hammer, args=(str(tmp_path), w, 25)) for w in range(8)]
    for p in procs:
        p.start()
    seen = 0
    while any(p.is_alive() for p in procs):
        for name in ("current", "config.json"):
            path = tmp_path / name
            if path.exists():
                json.loads(path.read_text())  # never half-written
                seen += 1
    for p in procs:
        p.join()
        assert p.exitcode == 0
    config = read(tmp_path / "config.json")
    clients = config["sessions"]["sd2e"]["alice"]
    assert sorted(clients) == [f"c{w}" for w in range(8)]
    assert all(c["access_token"].endswith("-24") for c in clients.values())
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert seen > 0


# -- agavepy 0.9.5 -----------------------------------------------------------------


def run_095(python: Path, code: str, cache_dir: Path) -> str:
    env = {**os.environ, "HOME": str(cache_dir.parent), "AGAVE_CACHE_DIR": str(cache_dir)}
    res = subprocess.run(
        [str(python), "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert res.returncode == 0, res.stderr
    return res.stdout


WRITE_095 = """
    import sys
    from agavepy.agave import Agave
    ag = Agave(api_server="http://127.0.0.1:9", username="alice")
    ag.tenant_id = "sd2e"
    ag.api_key, ag.api_secret, ag.client_name = "K095", "S095", "cl095"
    ag.token, ag.refresh_token = "AT095", "RT095"
    ag.expires_in, ag.created_at, ag.expires_at = 14400, "{now}", "Sat Nov 28 08:00:00 UTC 2026"
    ag.save_configs(sys.argv[1] if len(sys.argv) > 1 else {cache!r})
"""

READ_095 = """
    import json
    from agavepy.agave import Agave
    ag = Agave(api_server="http://127.0.0.1:9")
    ag.load_configs({cache!r})
    print(json.dumps({{k: getattr(ag, k) for k in ("client_name", "tenant_id", "api_server",
        "api_key", "api_secret", "username", "token", "refresh_token", "created_at",
        "expires_in", "expires_at")}}))
"""


def test_agavepy095_writes_we_restore(agavepy095, tmp_path):
    cache = tmp_path / "agave"
    run_095(agavepy095, WRITE_095.format(now=NOW, cache=str(cache)), cache)
    ag = Agave.restore(cache_dir=cache)
    assert (ag.client_name, ag.tenant_id, ag.api_server) == ("cl095", "sd2e", "http://127.0.0.1:9")
    assert (ag.api_key, ag.api_secret, ag.username) == ("K095", "S095", "alice")
    assert (ag.token, ag.refresh_token, ag.expires_in, ag.created_at) == (
        "AT095",
        "RT095",
        14400,
        NOW,
    )


def test_we_write_agavepy095_reads_and_writes_back(agavepy095, tmp_path):
    cache = tmp_path / "agave"
    ag = Agave(
        api_server="http://127.0.0.1:9",
        tenant_id="sd2e",
        username="alice",
        api_key="KOURS",
        api_secret="SOURS",
        client_name="ours",
        cache_dir=cache,
    )
    ag.set_pair(TokenPair("ATOURS", "RTOURS", expires_in=14400, created_at=NOW))
    ag.save_configs()
    seen = json.loads(run_095(agavepy095, READ_095.format(cache=str(cache)), cache))
    assert seen["client_name"] == "ours"
    assert (seen["api_key"], seen["api_secret"], seen["token"]) == ("KOURS", "SOURS", "ATOURS")
    assert (seen["refresh_token"], int(seen["created_at"]), int(seen["expires_in"])) == (
        "RTOURS",
        NOW,
        14400,
    )
    # 0.9.5 then saves its own session: ours must still be there, and readable by us.
    run_095(agavepy095, WRITE_095.format(now=NOW, cache=str(cache)), cache)
    config = read(cache / "config.json")
    assert config["sessions"]["sd2e"]["alice"]["ours"]["apikey"] == "KOURS"
    assert Agave.restore(cache_dir=cache).client_name == "cl095"
    assert Agave.restore(cache_dir=cache, client_name="ours").api_key == "KOURS"
