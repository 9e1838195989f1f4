"""The benchmark harness in smoke mode, so it cannot rot unnoticed.

Runs ``bench/run.py --smoke`` for real (our server, the bare endpoint, every
scenario for about a second, no peer) into a temporary file. No timing is
asserted: only that every scenario ran without a single error and the report
holds what RESULTS.md must hold.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def smoke(tmp_path_factory: pytest.TempPathFactory):
    """(finished process, report path, committed RESULTS.md bytes before the run)."""
    committed = ROOT / "bench" / "RESULTS.md"
    before = committed.read_bytes() if committed.exists() else None
    out = tmp_path_factory.mktemp("bench") / "RESULTS.md"
    cmd = [sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--out", str(out)]
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    ) as child:
        try:
            stdout, stderr = child.communicate(timeout=840)
        except BaseException:
            # SIGTERM lets the harness stop the servers it started; SIGKILL would orphan them.
            child.terminate()
            child.communicate(timeout=60)
            raise
    proc = subprocess.CompletedProcess(cmd, child.returncode, stdout, stderr)
    return proc, out, before


def test_harness_exits_cleanly(smoke) -> None:
    proc, out, _ = smoke
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert out.is_file()


def test_every_scenario_ran_without_errors(smoke) -> None:
    _, out, _ = smoke
    results = json.loads(out.with_suffix(".json").read_text())
    assert results["problems"] == []
    ours = results["runs"]["ours"]
    expected = {
        "health",
        "client_credentials",
        "refresh_token",
        "password",
        "me",
        "introspection",
        "me_jwt",
        "me_opaque_paired",
        "client_create",
        "list_100",
        "list_1000",
    }
    if not results.get("gateway_skipped"):  # nginx is there (CI installs it)
        expected |= {"decide_warm", "gateway_warm", "nginx_noauth"}
        assert results["gateway_first_call"]["calls"] > 0
    assert expected <= set(ours)
    assert results["runs"]["bare"]["health"]["requests"] > 0
    for key, run in {**ours, **results["runs"]["bare"]}.items():
        assert run["requests"] > 0, key
        assert run["errors"] == {}, (key, run["first_error"])
    assert results["runs"]["peer"] == {}  # smoke mode never starts the peer
    # JWT and opaque bearer rounds took turns: as many of each, each with its own req/s
    jwt, opaque = ours["me_jwt"]["rounds_rps"], ours["me_opaque_paired"]["rounds_rps"]
    assert len(jwt) == len(opaque) > 1
    assert all(rps > 0 for rps in jwt + opaque)


def test_report_holds_the_required_sections(smoke) -> None:
    _, out, _ = smoke
    text = out.read_text()
    for heading in (
        "## Machine and settings",
        "## Scenarios",
        "## Beside oidc-provider",
        "## Targets",
        "## Password hashing",
        "## Clients list",
        "## Gateway",
        "## CLI start-up",
        "## Server memory",
    ):
        assert heading in text
    for field in ("- date:", "- commit:", "- nproc:", "- CPU:", "- memory:", "- Python:"):
        assert field in text
    results = json.loads(out.with_suffix(".json").read_text())
    assert results["hash"]["per_second"] > 0
    assert results["startup"]["agave"]["median_ms"] > 0
    assert results["startup"]["curl"]["median_ms"] > 0
    assert results["rss"]["ours"], "no worker memory read"
    targets = text.split("## Targets")[1].split("\n## ")[0]
    rows = [ln for ln in targets.splitlines() if ln.startswith("| ") and "verdict" not in ln]
    assert rows
    for row in rows:
        if "the peer" in row or "oidc-provider" in row:  # no peers in smoke mode
            continue
        assert "**met**" in row or "**missed**" in row, row


def test_smoke_run_leaves_committed_results_alone(smoke) -> None:
    committed = ROOT / "bench" / "RESULTS.md"
    before = smoke[2]
    after = committed.read_bytes() if committed.exists() else None
    assert before == after
