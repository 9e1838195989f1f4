"""The tree is lint-clean: ``python3 tasks.py test`` (and so CI) fails on what ``lint`` flags.

Runs the same two commands as ``python3 tasks.py lint``, on the same paths (``tasks.LINTED``).
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _linted() -> tuple[str, ...]:
    spec = importlib.util.spec_from_file_location("agave_tasks", ROOT / "tasks.py")
    assert spec and spec.loader
    tasks = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tasks)
    return tasks.LINTED


LINTED = _linted()


def test_scripts_are_linted():
    assert {"src", "tests", "bench", "scripts"} <= set(LINTED)


@pytest.mark.parametrize(
    "command", [["check"], ["format", "--check"]], ids=["ruff check", "ruff format --check"]
)
def test_ruff(command: list[str]):
    res = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", *LINTED],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, (
        f"ruff {' '.join(command)} found problems:\n{res.stdout}{res.stderr}"
    )
