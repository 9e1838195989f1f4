#!/usr/bin/env python3
"""Measure what scaling out buys: client_credentials tokens/s with 1 vs 4 server processes on
PostgreSQL, and the token table before and after ``agave-server purge``.

Loopback only and bounded: it creates a throwaway database on the PostgreSQL that ``--pg``
names (dropped at the end), starts ``agave-server serve --workers N`` on a free 127.0.0.1 port,
drives it with the shared load generator for ``--duration`` seconds, and stops it by its pid.
Runs are interleaved (1, 4, 1, 4, ...) because this machine's speed drifts from minute to
minute. Prints a Markdown table; ``--json FILE`` also saves the raw numbers.

    .venv/bin/python scripts/scale_bench.py --rounds 2 --duration 10 --concurrency 16
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
AGAVE_SERVER = str(BIN / "agave-server")
LOADGEN_CANDIDATES = [
    ROOT.parent / "shared/peers/loadgen.py",
    Path("/work/shared/peers/loadgen.py"),
]
SHORT_LIFETIME = 20  # seconds: tokens minted by the load runs are dead soon after


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def throwaway_database(pg_url: str) -> Iterator[str]:
    name = "agave_bench_" + secrets.token_hex(4)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    head, _, _ = pg_url.rpartition("/")
    try:
        yield f"{head}/{name}"
    finally:
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def admin(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    res = subprocess.run(
        [AGAVE_SERVER, *args], env=env, input=stdin, capture_output=True, text=True, timeout=300
    )
    if res.returncode:
        sys.exit(f"agave-server {' '.join(args)} failed: {res.stderr.strip()}")
    return res.stdout


@contextlib.contextmanager
def serving(env: dict[str, str], port: int, workers: int, log: Path) -> Iterator[str]:
    url = f"http://127.0.0.1:{port}"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [
                AGAVE_SERVER,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--workers",
                str(workers),
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 180
        while True:
            if proc.poll() is not None:
                sys.exit(f"agave-server serve exited {proc.returncode}; see {log}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(url + "/health", timeout=1).status_code == 200:
                    break
            if time.monotonic() > deadline:
                sys.exit(f"agave-server serve did not answer /health; see {log}")
            time.sleep(0.1)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(10)


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
    ap.add_argument(
        "--loadgen", type=Path, default=next((p for p in LOADGEN_CANDIDATES if p.exists()), None)
    )
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    if args.loadgen is None:
        sys.exit("shared/peers/loadgen.py not found; pass --loadgen PATH")
    workdir = Path(os.environ.get("TMPDIR", "/tmp")) / f"agave-scale-bench-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    results: dict = {"runs": [], "loadavg_before": os.getloadavg()}

    with throwaway_database(args.pg) as db_url:
        env = {
            **os.environ,
            "AGAVE_SERVER_DB": db_url,
            "AGAVE_SERVER_DATA_DIR": str(workdir),
            "AGAVE_SERVER_PURGE_INTERVAL": "0",
            "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": str(SHORT_LIFETIME),
        }
        env.pop("AGAVE_SERVER_REDIS", None)
        port = free_port()
        admin(env, "migrate")
        admin(
            env,
            "tenants",
            "add",
            "bench",
            "--name",
            "Bench",
            "--base-url",
            f"http://127.0.0.1:{port}/",
        )
        admin(
            env,
            "users",
            "add",
            "bench",
            "--tenant",
            "bench",
            "--password-stdin",
            stdin="bench-password\n",
        )
        with serving(env, port, 1, workdir / "serve.log") as url:
            made = httpx.post(
                url + "/clients/v2",
                auth=("bench", "bench-password"),
                data={"clientName": "bench"},
                timeout=60,
            ).json()["result"]
        basic = f"{made['consumerKey']}:{made['consumerSecret']}"

        for rnd in range(args.rounds):
            for workers in args.workers:
                with serving(env, port, workers, workdir / "serve.log") as url:
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
        live_env = {**env, "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": "14400"}
        with serving(live_env, port, 1, workdir / "serve.log") as url:
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
        purge_out = admin(env, "purge").strip()
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
