"""The README's first command: ``python -m devtools.demo`` runs the seed end to end."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.sdk.seed import seed_steps

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_demo_replays_the_seed_and_cleans_up():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGAVE_")}
    res = subprocess.run(
        [sys.executable, "-m", "devtools.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr
    out = res.stdout.replace("\r", "")
    for step in seed_steps():
        assert f">>> {step.our_command}\n" in out
    subscriptions = [ln for ln in seed_steps()[-1].output if not ln.startswith("API ")]
    assert "\n".join(subscriptions) in out
    assert ">>> ag.token != old\nTrue\n" in out
    assert "Traceback" not in out
    workdir = out.split("SQLite in ", 1)[1].split(")", 1)[0]
    assert not os.path.exists(workdir)


def test_demo_failure_is_one_line_and_cleans_up():
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGAVE_")}
    env["AGAVE_SERVER_ACCESS_TOKEN_LIFETIME"] = "abc"
    res = subprocess.run(
        [sys.executable, "-m", "devtools.demo"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )
    assert res.returncode == 1, res.stdout + res.stderr
    assert res.stderr.strip().splitlines() == [
        "demo failed: agave-server migrate failed: agave-server: error: "
        "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME='abc' is not an integer"
    ]
    workdir = res.stdout.split("SQLite in ", 1)[1].split(")", 1)[0]
    assert not os.path.exists(workdir)
