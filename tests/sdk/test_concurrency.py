"""Eight processes refreshing one saved session at once: no corruption, no lost refresh token."""

from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

from agavepy.agave import Agave

WORKERS = 8
ROUNDS = 3  # after the first round each process holds the newest pair: it must call the server


def _refresh(cache_dir: str, start, results) -> None:
    ag = Agave.restore(cache_dir=cache_dir, prompt=False)
    start.wait(60)
    try:
        # Only refreshes race here: a bearer call between two forced refreshes of other
        # processes may see its token rotated away twice, which no client can prevent.
        for _ in range(ROUNDS):
            pair = ag.tokens.refresh(force=True)
        results.put(("ok", pair.refresh_token))
    except Exception as exc:  # reported to the test, which fails on it
        results.put(("error", f"{type(exc).__name__}: {exc}"))


def test_eight_processes_refresh_the_same_session(make_agave, user, cache_dir: Path):
    ag = make_agave(user)
    ag.clients_create("concurrent", "")
    ag.get_access_token()
    first_refresh = ag.refresh_token

    ctx = multiprocessing.get_context("spawn")
    start, results = ctx.Event(), ctx.Queue()
    procs = [
        ctx.Process(target=_refresh, args=(str(cache_dir), start, results)) for _ in range(WORKERS)
    ]
    for p in procs:
        p.start()
    start.set()
    outcomes = [results.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert [o for o in outcomes if o[0] != "ok"] == []

    current = json.loads((cache_dir / "current").read_text())
    config = json.loads((cache_dir / "config.json").read_text())
    saved = config["sessions"]["sd2e"][user.username]["concurrent"]
    assert saved["refresh_token"] == current["refresh_token"] != first_refresh
    assert current["refresh_token"] in {token for _, token in outcomes}

    # The newest refresh token was kept: it still works, and so does the session.
    later = Agave.restore(cache_dir=cache_dir, prompt=False)
    later.tokens.refresh(force=True)
    assert later.profile().username == user.username
    later.close()
