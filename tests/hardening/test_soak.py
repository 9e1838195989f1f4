"""The soak script's short form: 64 concurrent clients against 2 workers for 20 s.

The full five-minute run is ``.venv/bin/python bench/soak.py``; this one keeps
CI honest about the same things: no 5xx, no unexpected status, no transport
error, and work actually done.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

SOAK = Path(__file__).resolve().parents[2] / "bench" / "soak.py"


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_short_soak_is_clean() -> None:
    res = subprocess.run(
        [sys.executable, str(SOAK), "--duration", "20", "--json"],
        capture_output=True,
        text=True,
        timeout=800,  # requests in flight at the deadline still finish
    )
    assert res.stdout, res.stderr
    report = json.loads(res.stdout.strip().splitlines()[-1])
    assert report["server_errors"] == {}, report
    assert report["unexpected"] == {}, report
    assert report["transport_errors"] == {}, report
    assert res.returncode == 0, res.stderr
    ops = report["operations"]
    for op in ("create", "list", "token", "refresh", "profile", "delete"):
        assert ops[op]["ok"] > 0, report
    print(f"\nsoak: {report['requests']} requests, RSS KiB {report['rss_kib']}")
