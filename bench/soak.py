#!/usr/bin/env python3
"""Soak test: many concurrent clients doing everything a user does, for minutes.

Starts its own ``agave-server`` (2 workers, loopback, throwaway data dir; on
PostgreSQL when ``AGAVE_TEST_DATABASE_URL`` is set), then runs
``--concurrency`` asyncio tasks, each repeating: create a client, list
clients, get a token (password grant), refresh it, read the profile with the
new token, check the old one is dead, delete the client, check the token
died with it. Every answer's status is checked against the one the contract
promises; anything else is counted as unexpected. Reports request counts,
latencies and the server's resident memory (all its processes) at start and
end. Exits 1 if any 5xx, unexpected status or transport error was seen.

    .venv/bin/python bench/soak.py                 # 64 clients, 300 s
    .venv/bin/python bench/soak.py --duration 20 --json
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import secrets
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from devtools.server import ServerProcess, production_argon2  # noqa: E402


@dataclass
class Tally:
    """Everything the run observed."""

    ok: collections.Counter = field(default_factory=collections.Counter)
    server_errors: collections.Counter = field(default_factory=collections.Counter)
    unexpected: collections.Counter = field(default_factory=collections.Counter)
    transport_errors: collections.Counter = field(default_factory=collections.Counter)
    latencies: dict[str, list[float]] = field(default_factory=lambda: collections.defaultdict(list))
    samples: list[str] = field(default_factory=list)

    def record(self, op: str, res: httpx.Response, expected: int, started: float) -> bool:
        self.latencies[op].append(time.perf_counter() - started)
        if res.status_code == expected:
            self.ok[op] += 1
            return True
        bucket = self.server_errors if res.status_code >= 500 else self.unexpected
        bucket[f"{op} {res.status_code}"] += 1
        if len(self.samples) < 10:
            self.samples.append(
                f"{op}: expected {expected}, got {res.status_code}: {res.text[:300]}"
            )
        return False

    @property
    def clean(self) -> bool:
        return not (self.server_errors or self.unexpected or self.transport_errors)


def rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants (uvicorn workers), in KiB."""
    children: dict[int, list[int]] = collections.defaultdict(list)
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children[int(fields[1])].append(int(stat.parent.name))
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo.extend(children.get(p, []))
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total


async def timed(tally: Tally, op: str, expected: int, call) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        res = await call
    except httpx.TransportError as exc:
        tally.transport_errors[f"{op} {type(exc).__name__}"] += 1
        return None
    return res if tally.record(op, res, expected, started) else None


async def one_round(http: httpx.AsyncClient, user: tuple[str, str], tally: Tally) -> None:
    """One user's full cycle; stops at the first step that went wrong."""
    name = "soak-" + secrets.token_hex(6)
    res = await timed(
        tally, "create", 201, http.post("/clients/v2", auth=user, data={"clientName": name})
    )
    if res is None:
        return
    client = res.json()["result"]
    key_secret = (client["consumerKey"], client["consumerSecret"])
    if await timed(tally, "list", 200, http.get("/clients/v2", auth=user)) is None:
        return
    res = await timed(
        tally,
        "token",
        200,
        http.post(
            "/token",
            auth=key_secret,
            data={
                "grant_type": "password",
                "username": user[0],
                "password": user[1],
                "scope": "PRODUCTION",
            },
        ),
    )
    if res is None:
        return
    first = res.json()
    res = await timed(
        tally,
        "refresh",
        200,
        http.post(
            "/token",
            auth=key_secret,
            data={
                "grant_type": "refresh_token",
                "refresh_token": first["refresh_token"],
                "scope": "PRODUCTION",
            },
        ),
    )
    if res is None:
        return
    second = res.json()

    def bearer(t: dict) -> dict[str, str]:
        return {"Authorization": f"Bearer {t['access_token']}"}

    if (
        await timed(tally, "profile", 200, http.get("/profiles/v2/me", headers=bearer(second)))
        is None
    ):
        return
    await timed(tally, "retired token", 401, http.get("/profiles/v2/me", headers=bearer(first)))
    if await timed(tally, "delete", 200, http.delete(f"/clients/v2/{name}", auth=user)) is None:
        return
    await timed(
        tally, "deleted client's token", 401, http.get("/profiles/v2/me", headers=bearer(second))
    )


async def worker(base_url: str, user: tuple[str, str], deadline: float, tally: Tally) -> None:
    # Generous: 64 clients queue behind argon2 (by design slow) on a busy machine.
    async with httpx.AsyncClient(base_url=base_url, timeout=300) as http:
        while time.monotonic() < deadline:
            await one_round(http, user, tally)


async def sample_rss(pid: int, deadline: float, every: float, out: list[int]) -> None:
    """Record the server's RSS every ``every`` seconds until the deadline."""
    while time.monotonic() < deadline:
        out.append(rss_kib(pid))
        await asyncio.sleep(every)


async def soak(
    base_url: str,
    users: list[tuple[str, str]],
    concurrency: int,
    duration: float,
    tally: Tally,
    server_pid: int,
    rss_samples: list[int],
) -> None:
    deadline = time.monotonic() + duration
    await asyncio.gather(
        sample_rss(server_pid, deadline, max(duration / 20, 1.0), rss_samples),
        *(worker(base_url, users[i % len(users)], deadline, tally) for i in range(concurrency)),
    )


def summary(tally: Tally, args: argparse.Namespace, rss: dict[str, int], elapsed: float) -> dict:
    ops = {
        op: {
            "ok": tally.ok[op],
            "p50_ms": round(statistics.median(lat) * 1000, 1),
            "p99_ms": round(sorted(lat)[int(len(lat) * 0.99) - 1] * 1000, 1) if lat else None,
        }
        for op, lat in tally.latencies.items()
    }
    return {
        "duration_s": round(elapsed, 1),
        "concurrency": args.concurrency,
        "workers": args.workers,
        "requests": sum(len(v) for v in tally.latencies.values()),
        "operations": ops,
        "server_errors": dict(tally.server_errors),
        "unexpected": dict(tally.unexpected),
        "transport_errors": dict(tally.transport_errors),
        "samples": tally.samples,
        "rss_kib": rss,
        "clean": tally.clean,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=300.0, help="seconds (default 300)")
    parser.add_argument("--concurrency", type=int, default=64, help="concurrent clients")
    parser.add_argument("--workers", type=int, default=2, help="server worker processes")
    parser.add_argument("--users", type=int, default=8, help="distinct users")
    parser.add_argument("--json", action="store_true", help="print one JSON summary")
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.concurrency < 1 or args.workers < 1 or args.users < 1:
        parser.error("--duration, --concurrency, --workers and --users must be positive")

    tally = Tally()
    with tempfile.TemporaryDirectory(prefix="agave-soak-") as tmp:
        srv = ServerProcess(Path(tmp), workers=args.workers, env=production_argon2())
        try:
            users = []
            for i in range(args.users):
                user = (f"soak{i}", "pw-" + secrets.token_urlsafe(12))
                srv.add_user(*user)
                users.append(user)
            srv.start()
            assert srv.proc is not None
            idle = rss_kib(srv.proc.pid)
            samples: list[int] = []
            started = time.monotonic()
            asyncio.run(
                soak(
                    srv.base_url,
                    users,
                    args.concurrency,
                    args.duration,
                    tally,
                    srv.proc.pid,
                    samples,
                )
            )
            elapsed = time.monotonic() - started
            # "start" is the first sample under load after warm-up (10% of the run).
            rss = {
                "idle": idle,
                "start": samples[min(2, len(samples) - 1)],
                "end": rss_kib(srv.proc.pid),
                "max": max(samples),
            }
        finally:
            srv.close()
    report = summary(tally, args, rss, elapsed)
    if args.json:
        print(json.dumps(report))
    else:
        print(json.dumps(report, indent=2))
        print("CLEAN" if tally.clean else "PROBLEMS FOUND", file=sys.stderr)
    return 0 if tally.clean else 1


if __name__ == "__main__":
    sys.exit(main())
