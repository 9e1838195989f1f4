"""Server CPU per request of the hot paths, to measure what a middleware costs.

Starts ``agave-server serve`` (one worker; whatever ``agave_server`` is importable, so a
scratch copy of another revision can be measured with ``PYTHONPATH=copy/src``), then for
``GET /health`` and ``POST /token`` (client_credentials) runs ``bench/loadgen.py`` for a few
seconds and divides the server's CPU time (``/proc``, root and workers) by the requests.
CPU per request moves far less than req/s on a shared machine (bench/NOTES.md).

    .venv/bin/python -m bench.ops_overhead [--duration 5] [--concurrency 16] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ours import OurServer
from bench.procs import tree_cpu_seconds

LOADGEN = Path(__file__).with_name("loadgen.py")


def _load(args: list[str], duration: float, concurrency: int) -> dict:
    cmd = [sys.executable, str(LOADGEN), *args, "-c", str(concurrency), "-d", str(duration)]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=duration + 120)
    return json.loads(out.stdout.strip().splitlines()[-1])


def measure(server: OurServer, name: str, args: list[str], duration: float, conc: int) -> dict:
    pid = server.process.proc.pid  # type: ignore[union-attr]
    before = tree_cpu_seconds(pid)
    result = _load(args, duration, conc)
    cpu = tree_cpu_seconds(pid) - before
    requests = max(1, result["requests"])
    return {
        "scenario": name,
        "requests": result["requests"],
        "errors": result["errors"],
        "rps": result["throughput_rps"],
        "cpu_ms_per_request": round(cpu * 1000 / requests, 4),
        "p50_ms": result["latency_ms"]["p50"],
    }


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--rounds", type=int, default=3)
    opts = p.parse_args(argv)
    import agave_server

    print(f"# agave_server from {Path(agave_server.__file__).parent}", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="ops-bench-") as tmp:
        server = OurServer(Path(tmp), workers=1)
        server.start()
        try:
            scenarios = {
                "GET /health": ["--url", f"{server.url}/health"],
                "POST /token client_credentials": [
                    "--url",
                    f"{server.url}/token",
                    "--basic",
                    server.client_basic,
                    "--form",
                    "grant_type=client_credentials",
                ],
            }
            for name, args in scenarios.items():
                _load(args, 1.0, opts.concurrency)  # warm up
                for _ in range(opts.rounds):
                    print(json.dumps(measure(server, name, args, opts.duration, opts.concurrency)))
                    time.sleep(0.5)
        finally:
            server.close()


if __name__ == "__main__":
    main()
