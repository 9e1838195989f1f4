#!/usr/bin/env python3
"""Measure what scaling out buys: client_credentials tokens/s with 1 vs 4 server processes on
PostgreSQL, and the token table before and after ``agave-server purge``.

Loopback only and bounded: it creates a throwaway database on the PostgreSQL that ``--pg``
names (dropped at the end), starts ``agave-server serve --workers N`` on a free 127.0.0.1 port,
drives it with the shared load generator (``../shared/peers/loadgen.py`` when present, else the
repository's copy ``bench/loadgen.py``) for ``--duration`` seconds, and stops it by its pid
(``devtools/server.py``, the helper the tests use).
Runs are interleaved (1, 4, 1, 4, ...) because this machine's speed drifts from minute to
minute. Prints a Markdown table; ``--json FILE`` also saves the raw numbers.

    .venv/bin/python scripts/scale_bench.py --rounds 2 --duration 10 --concurrency 16
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load import find_peers_dir  # noqa: E402
from devtools.server import PostgresDatabase, ServerProcess, production_argon2  # noqa: E402

SHORT_LIFETIME = 20  # seconds: tokens minted by the load runs are dead soon after


def default_loadgen() -> Path:
    """The shared load generator next to the repository, else the repository's own copy."""
    peers = find_peers_dir()
    return peers / "loadgen.py" if peers else ROOT / "bench" / "loadgen.py"


@contextlib.contextmanager
def serving(srv: ServerProcess, workers: int, env: dict[str, str] | None = None) -> Iterator[str]:
    """``srv`` serving with ``workers`` processes (and ``env`` on top), stopped by its pid."""
    srv.workers = workers
    saved = dict(srv.env)
    srv.env.update(env or {})
    try:
        srv.start(timeout=180)
        yield srv.base_url
    finally:
        srv.stop(timeout=30)
        srv.env = saved


def loadgen(script: Path, url: str, basic: str, concurrency: int, duration: float) -> dict:
    cmd = [
        sys.executable,
        str(script),
        "--label",
        "cc",
        "--url",
        url + "/token",
        "--basic",
        basic,
        "--form",
        "grant_type=client_credentials",
        "-c",
        str(concurrency),
        "-d",
        str(duration),
        "--warmup",
        "2",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=duration + 300)
    if res.returncode:
        sys.exit(f"loadgen failed: {res.stderr.strip()}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def token_table(pg_url: str) -> dict[str, int]:
    with psycopg.connect(pg_url) as conn:
        rows = conn.execute("SELECT count(*) FROM tokens").fetchone()[0]
        size = conn.execute("SELECT pg_total_relation_size('tokens')").fetchone()[0]
    return {"rows": rows, "bytes": size}


def vacuum_full(pg_url: str) -> None:
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("VACUUM FULL tokens")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--pg",
        default=os.environ.get(
            "AGAVE_TEST_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test"
        ),
    )
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--duration", type=float, default=10)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--loadgen", type=Path, default=default_loadgen())
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"agave-scale-bench-{os.getpid()}"
    results: dict = {"runs": [], "loadavg_before": os.getloadavg()}

    pg = PostgresDatabase(args.pg, prefix="agave_bench_")
    srv = None
    try:
        env = {
            **production_argon2(),
            "AGAVE_SERVER_PURGE_INTERVAL": "0",
            "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": str(SHORT_LIFETIME),
        }
        srv = ServerProcess(workdir, db_url=pg.url, tenants=(("bench", "Bench"),), env=env)
        srv.env.pop("AGAVE_SERVER_REDIS", None)
        db_url = pg.libpq_url
        srv.add_user("bench", "bench-password", tenant="bench")
        with serving(srv, 1) as url:
            made = httpx.post(
                url + "/clients/v2",
                auth=("bench", "bench-password"),
                data={"clientName": "bench"},
                timeout=60,
            ).json()["result"]
        basic = f"{made['consumerKey']}:{made['consumerSecret']}"

        for rnd in range(args.rounds):
            for workers in args.workers:
                with serving(srv, workers) as url:
                    out = loadgen(args.loadgen, url, basic, args.concurrency, args.duration)
                run = {
                    "round": rnd,
                    "workers": workers,
                    **{k: out[k] for k in ("requests", "ok", "errors", "ok_rps", "latency_ms")},
                }
                results["runs"].append(run)
                print(
                    f"round {rnd} workers {workers}: {out['ok_rps']:.1f} tokens/s "
                    f"p50 {out['latency_ms']['p50']} ms errors {out['errors']}",
                    flush=True,
                )

        # Housekeeping: the load runs' tokens expire; a few live (and some revoked) ones stay.
        with serving(srv, 1, {"AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": "14400"}) as url:
            auth = tuple(basic.split(":", 1))
            issued = [
                httpx.post(
                    url + "/token", auth=auth, timeout=60, data={"grant_type": "client_credentials"}
                ).json()["access_token"]
                for _ in range(25)
            ]
            for token in issued[:5]:
                httpx.post(url + "/revoke", auth=auth, data={"token": token}, timeout=60)
        time.sleep(SHORT_LIFETIME + 1)
        before = token_table(db_url)
        purge_out = srv.admin("purge").stdout.strip()
        after = token_table(db_url)
        vacuum_full(db_url)
        after_vacuum = token_table(db_url)
        results["purge"] = {
            "before": before,
            "after": after,
            "after_vacuum_full": after_vacuum,
            "command_output": purge_out,
            "expected_live": 20,
        }
    finally:
        if srv is not None:
            srv.close()
        pg.drop()
    results["loadavg_after"] = os.getloadavg()

    print()
    print("| processes | runs (tokens/s) | mean tokens/s | p50 ms (mean) | errors |")
    print("|---|---|---|---|---|")
    for workers in args.workers:
        runs = [r for r in results["runs"] if r["workers"] == workers]
        rps = [r["ok_rps"] for r in runs]
        p50 = sum(r["latency_ms"]["p50"] for r in runs) / len(runs)
        errs = sum(
            sum(r["errors"].values()) if isinstance(r["errors"], dict) else r["errors"]
            for r in runs
        )
        print(
            f"| {workers} | {', '.join(f'{x:.1f}' for x in rps)} | {sum(rps) / len(rps):.1f} "
            f"| {p50:.0f} | {errs} |"
        )
    p = results["purge"]
    print()
    print(f"tokens table before purge: {p['before']['rows']} rows, {p['before']['bytes']} bytes")
    print(f"after purge: {p['after']['rows']} rows ({p['command_output']})")
    print(f"after VACUUM FULL: {p['after_vacuum_full']['bytes']} bytes")
    print(f"load average before/after: {results['loadavg_before']} / {results['loadavg_after']}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
