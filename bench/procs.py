"""Processes the harness starts: readiness polling, stopping by pid, memory.

Every process is stopped through the pid we hold (or the pid file the program
itself wrote), never by name: other engineers run the same programs here.
Starting, polling and stopping are :mod:`devtools.server`'s (the one helper the
tests, the demo and ``scripts/`` use too); this module adds pid files, memory and CPU.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

from devtools.server import free_port, stop_process_group, wait_http

__all__ = [
    "cpu_seconds",
    "descendants",
    "free_port",
    "rss_mb",
    "stop_pid_file",
    "stop_process_group",
    "tree_cpu_seconds",
    "wait_http",
    "worker_rss",
]


def stop_pid_file(pid_file: Path, proc: subprocess.Popen | None, timeout: float = 15.0) -> None:
    """Stop a daemon-like program (gunicorn) by the pid it wrote, then reap ``proc``."""
    pid = None
    with contextlib.suppress(FileNotFoundError, ValueError):
        pid = int(pid_file.read_text().strip())
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    if proc is not None:
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            stop_process_group(proc, 5)


def _children_map() -> dict[int, list[int]]:
    """ppid -> pids, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces and parentheses: split after the last ')'.
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    return children


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, grandchildren, ...)."""
    tree = _children_map()
    out: list[int] = []
    todo = [pid]
    while todo and len(out) < 10_000:
        for child in tree.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
    except OSError:
        return ""


def rss_mb(pid: int) -> float | None:
    """Resident set size (VmRSS) of one process in MiB, None if it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        return None
    return None


@dataclass
class WorkerMemory:
    pid: int
    rss_mb: float
    command: str


def worker_rss(root_pid: int, marker: str) -> list[WorkerMemory]:
    """RSS of the worker processes under ``root_pid``: descendants whose command has ``marker``.

    Falls back to the root itself when it has no such children (a single-process server).
    """
    found = []
    for pid in descendants(root_pid):
        cmd = cmdline(pid)
        mem = rss_mb(pid)
        if marker in cmd and mem is not None:
            found.append(WorkerMemory(pid, mem, cmd))
    if not found:
        mem = rss_mb(root_pid)
        if mem is not None:
            found.append(WorkerMemory(root_pid, mem, cmdline(root_pid)))
    return found


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def cpu_seconds(pid: int) -> float:
    """User + system CPU of one process (all its threads), 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # After the command: state is field 3, so utime (14) and stime (15) are at 11 and 12.
    return (int(fields[11]) + int(fields[12])) / _TICKS


def tree_cpu_seconds(root_pid: int) -> float:
    """CPU used so far by a server: its root process and every worker below it.

    Robust to other programs sharing the machine, unlike throughput: the report
    gives CPU per request beside req/s for that reason.
    """
    return cpu_seconds(root_pid) + sum(cpu_seconds(p) for p in descendants(root_pid))
