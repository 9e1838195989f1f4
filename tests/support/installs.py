"""What the helpers for third-party test programs share: installing a pinned npm package once
per checkout, telling an offline index from a real failure, and stopping a process by its pid.

Used by ``oidc_provider`` (the upstream OpenID provider), ``jupyterhub`` (its node proxy) and
``slapd``.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import signal
import subprocess
from pathlib import Path

import pytest

# What pip and npm say when the package index cannot be reached.
OFFLINE = (
    "NewConnectionError",
    "Temporary failure in name resolution",
    "Network is unreachable",
    "No matching distribution found",
    "ENOTFOUND",
    "EAI_AGAIN",
    "ECONNREFUSED",
    "ETIMEDOUT",
    "ENETUNREACH",
)


def install_failed(what: str, res: subprocess.CompletedProcess[str]) -> None:
    """Skip when the index could not be reached (no network is not a bug of ours); else fail
    with what the installer said."""
    said = (res.stdout + res.stderr)[-3000:]
    if any(sign in said for sign in OFFLINE):
        pytest.skip(f"{what} could not reach its package index (no network?): {said[-300:]}")
    raise AssertionError(f"{what} failed:\n{said}")


def require_node(why: str) -> None:
    for binary in ("node", "npm"):
        if shutil.which(binary) is None:
            pytest.skip(f"{binary} is not installed ({why})")


def npm_ci(package: Path, home: Path, installed: Path, what: str) -> None:
    """``npm ci`` of ``package``'s committed ``package.json`` and lock file into ``home``,
    unless ``installed`` exists there from the same lock file. Parallel test processes wait
    for one another and install once."""
    home.mkdir(parents=True, exist_ok=True)
    wanted = (package / "package-lock.json").read_bytes()
    with open(home / ".install.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        lock_copy = home / "package-lock.json"
        if installed.exists() and lock_copy.exists() and lock_copy.read_bytes() == wanted:
            return
        shutil.copy(package / "package.json", home / "package.json")
        shutil.copy(package / "package-lock.json", lock_copy)
        res = subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=home,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if res.returncode != 0:
            lock_copy.unlink(missing_ok=True)  # the next run tries again
            install_failed(f"npm ci of {what}", res)


def stop_pid(proc: subprocess.Popen | None, grace: float) -> None:
    """SIGTERM by pid; SIGKILL when it has not exited ``grace`` seconds later."""
    if proc is None or proc.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(proc.pid, signal.SIGTERM)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
