#!/usr/bin/env python3
"""Server start-up: ``agave-server serve --workers 1`` from exec to the first 200 on /health.

The database is migrated and holds a tenant before the first timed start (what an operator's
restart meets: the schema is current); each start is a new process on the same port, stopped
by its pid after its first 200. Two figures per start: wall seconds from ``Popen`` to the
first 200 (what the target is about), and the CPU seconds the server's processes had used by
then (steadier on a shared machine: other programs' load stretches the wall time, not the CPU).

    .venv/bin/python -m bench.server_startup [--repeats 7]   # prints one JSON object

The harness (bench/run.py, phase ``startup``) runs it beside the CLI start-up figures.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from devtools.server import (  # noqa: E402
    AGAVE_SERVER,
    ServerProcess,
    production_argon2,
    start_process_group,
)

from bench.procs import stop_process_group, tree_cpu_seconds  # noqa: E402

POLL_S = 0.005
START_TIMEOUT_S = 60.0
_REQUEST = b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"


def _status(host: str, port: int) -> int | None:
    """The status of one ``GET /health`` over a raw socket (cheap to poll), None if no answer."""
    try:
        with socket.create_connection((host, port), timeout=2) as sock:
            sock.sendall(_REQUEST)
            head = sock.recv(64)
    except OSError:
        return None
    parts = head.split(b" ", 2)
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def start_once(server: ServerProcess, env: dict[str, str]) -> tuple[float, float]:
    """(wall seconds, server CPU seconds) from exec to the first 200; the server is stopped."""
    cmd = [
        AGAVE_SERVER,
        "serve",
        "--host",
        server.host,
        "--port",
        str(server.port),
        "--workers",
        "1",
    ]
    t0 = time.perf_counter()
    proc = start_process_group(cmd, env, server.log_path)
    try:
        deadline = t0 + START_TIMEOUT_S
        while _status(server.host, server.port) != 200:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"agave-server serve exited {proc.returncode} before /health answered; "
                    f"see {server.log_path}"
                )
            if time.perf_counter() > deadline:
                raise RuntimeError(f"/health did not answer 200 within {START_TIMEOUT_S:.0f} s")
            time.sleep(POLL_S)
        wall = time.perf_counter() - t0
        cpu = tree_cpu_seconds(proc.pid)
    finally:
        stop_process_group(proc)
    return wall, cpu


def measure(workdir: Path, repeats: int) -> dict:
    """Medians (and every run) of ``repeats`` starts after one untimed start (bytecode caches)."""
    # Migrated, one tenant: a restart's situation; the server's real argon2 parameters (its
    # start makes one hash with them), not the test suite's cheap ones.
    server = ServerProcess(workdir, env=production_argon2())
    try:
        env = dict(server.env)
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # an installed server has its bytecode
        start_once(server, env)
        walls, cpus = [], []
        for _ in range(repeats):
            wall, cpu = start_once(server, env)
            walls.append(wall * 1000)
            cpus.append(cpu * 1000)
    finally:
        server.close()
    return {
        "repeats": repeats,
        "workers": 1,
        "database": "PostgreSQL" if server.db_url.startswith("postgresql") else "SQLite",
        "median_ms": statistics.median(walls),
        "cpu_median_ms": statistics.median(cpus),
        "runs_ms": walls,
        "cpu_runs_ms": cpus,
        "load_average": os.getloadavg()[0],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--repeats", type=int, default=7)
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="agave-startup-") as tmp:
        print(json.dumps(measure(Path(tmp), args.repeats), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
