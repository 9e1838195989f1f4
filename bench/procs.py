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


def mapped_database_mb(pid: int) -> float:
    """MiB of ``pid``'s resident pages that are SQLite's memory-mapped database file and its
    WAL index (``*.db``, ``*.db-shm``): the kernel's page cache of the file, shared by every
    worker that maps it (``PRAGMA mmap_size``), counted in each one's VmRSS all the same."""
    total_kb = 0
    mapping_is_db = False
    try:
        with open(f"/proc/{pid}/smaps") as smaps:
            for line in smaps:
                head = line.split(maxsplit=6)
                if len(head) >= 5 and "-" in head[0] and ":" in head[3]:  # a mapping's header
                    path = head[5].strip() if len(head) > 5 else ""
                    mapping_is_db = path.endswith((".db", ".db-shm"))
                elif mapping_is_db and line.startswith("Rss:"):
                    total_kb += int(line.split()[1])
    except OSError:
        return 0.0
    return total_kb / 1024.0


@dataclass
class WorkerMemory:
    pid: int
    rss_mb: float
    command: str
    mapped_db_mb: float = 0.0  # of rss_mb: the SQLite file's shared, memory-mapped pages

    @property
    def own_mb(self) -> float:
        """RSS without the shared database mapping: what this worker itself holds."""
        return self.rss_mb - self.mapped_db_mb


def worker_rss(root_pid: int, marker: str) -> list[WorkerMemory]:
    """RSS of the worker processes under ``root_pid``: descendants whose command has ``marker``.

    Falls back to the root itself when it has no such children (a single-process server).
    """
    found = []
    for pid in descendants(root_pid):
        cmd = cmdline(pid)
        mem = rss_mb(pid)
        if marker in cmd and mem is not None:
            found.append(WorkerMemory(pid, mem, cmd, mapped_database_mb(pid)))
    if not found:
        mem = rss_mb(root_pid)
        if mem is not None:
            found.append(
                WorkerMemory(root_pid, mem, cmdline(root_pid), mapped_database_mb(root_pid))
            )
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
