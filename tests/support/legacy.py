"""Clients nobody here wrote: agavepy 0.9.5 from the package index.

Built once into ``.cache/agavepy-0.9.5`` at the repository root (kept across
runs; rebuilt if broken), under a file lock so parallel test workers share it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from filelock import FileLock

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / ".cache"
AGAVEPY095_VENV = CACHE / "agavepy-0.9.5"


def agavepy095_python() -> Path:
    """Path to a Python that has agavepy==0.9.5 (and nothing of ours) installed."""
    CACHE.mkdir(exist_ok=True)
    py = AGAVEPY095_VENV / "bin" / "python"
    with FileLock(str(CACHE / "agavepy-0.9.5.lock")):
        ok = (
            py.exists()
            and subprocess.run(
                [str(py), "-c", "import agavepy.agave"], capture_output=True
            ).returncode
            == 0
        )
        if not ok:
            subprocess.run(
                [sys.executable, "-m", "venv", "--clear", str(AGAVEPY095_VENV)], check=True
            )
            subprocess.run(
                [
                    str(py),
                    "-m",
                    "pip",
                    "install",
                    "-q",
                    "--disable-pip-version-check",
                    "agavepy==0.9.5",
                ],
                check=True,
            )
    return py
