"""What the figures were measured on: date, commit, cores, CPU, memory, Python."""

from __future__ import annotations

import datetime as dt
import os
import platform
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _git(*args: str) -> str:
    try:
        res = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    return res.stdout.strip() if res.returncode == 0 else ""


def commit() -> str:
    """Short commit and branch, with ``+dirty`` when the worktree has changes."""
    head = _git("rev-parse", "--short", "HEAD") or "unknown"
    branch = _git("rev-parse", "--abbrev-ref", "HEAD")
    dirty = "+dirty" if _git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{head}{dirty} ({branch})" if branch else head + dirty


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def describe() -> dict[str, str]:
    """The machine block of RESULTS.md, as label -> value."""
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = memory_gib()
    return {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit(),
        "nproc": str(usable),
        "CPU": cpu_model(),
        "memory": f"{mem:.1f} GiB" if mem else "unknown",
        "Python": f"{platform.python_implementation()} {sys.version.split()[0]}",
        "OS": f"{platform.system()} {platform.release()}",
    }
