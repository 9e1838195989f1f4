#!/usr/bin/env python3
"""Profile one scenario of our server with py-spy while loadgen drives it.

    .venv/bin/python bench/profile.py client_credentials --seconds 10
    .venv/bin/python bench/profile.py me --workers 1 --flame /tmp/me.svg

Starts the server with one worker (so one process holds the whole profile),
runs the scenario at concurrency 32 and samples the worker with
``py-spy record`` (pip-installable; not a project dependency). Prints the
functions with the most samples, by own time and by inclusive time, so a
finding can name the function and its share.
"""

from __future__ import annotations

import argparse
import collections
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import seed  # noqa: E402
from bench.load import Load, LoadGenerator, find_peers_dir  # noqa: E402
from bench.ours import OurServer  # noqa: E402

# Thread-pool threads parked between jobs; --idle samples them too (we want the threads that
# wait on SQLite's lock or on the database, so idle sampling stays on).
IDLE = "Queue.get (queue.py"
SCENARIOS = (
    "health",
    "client_credentials",
    "password",
    "refresh_token",
    "me",
    "me_jwt",
    "introspection",
    "list",
)


def scenario_load(name: str, srv: OurServer, workdir: Path, list_count: int) -> Load:
    token_url = f"{srv.url}/token"
    if name == "health":
        return Load(f"{srv.url}/health")
    if name == "client_credentials":
        return Load(token_url, basic=srv.client_basic, form={"grant_type": "client_credentials"})
    if name == "password":
        return Load(
            token_url,
            basic=srv.client_basic,
            form={
                "grant_type": "password",
                "username": srv.username,
                "password": srv.password,
                "scope": "PRODUCTION",
            },
        )
    if name == "refresh_token":
        bodies = workdir / "refresh.txt"
        seed.refresh_bodies(srv, 60_000, bodies)
        return Load(token_url, basic=srv.client_basic, bodies=bodies)
    if name == "me":
        return Load(f"{srv.url}/profiles/v2/me", bearer=srv.password_grant()["access_token"])
    if name == "me_jwt":
        return Load(f"{srv.url}/profiles/v2/me", bearer=srv.switch_token_format("jwt"))
    if name == "introspection":
        token = srv.password_grant()["access_token"]
        return Load(f"{srv.url}/oauth2/introspect", basic=srv.client_basic, form={"token": token})
    srv.add_user("lister", "lister-password")
    seed.clients(srv, "lister", "lister-password", list_count)
    return Load(f"{srv.url}/clients/v2", basic="lister:lister-password")


def summarise(collapsed: Path, top: int) -> str:
    """Own and inclusive sample counts per function from py-spy's collapsed stacks."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in collapsed.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack:
            continue
        n = int(count)
        frames = stack.split(";")
        if any(f.startswith(IDLE) for f in frames):
            continue  # an idle thread-pool thread waiting for work
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    out = [f"{total} samples"]
    for title, counter in (("own time", own), ("inclusive time", inclusive)):
        out.append(f"\n-- top {top} by {title} --")
        for frame, n in counter.most_common(top):
            out.append(f"{100 * n / max(total, 1):5.1f}%  {frame}")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("scenario", choices=SCENARIOS)
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--concurrency", type=int, default=32)
    p.add_argument("--list-count", type=int, default=10_000)
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--flame", type=Path, help="also keep the collapsed stacks here")
    p.add_argument(
        "--idle",
        action="store_true",
        help="sample waiting threads too (lock waits); default: CPU only",
    )
    args = p.parse_args()
    if not 0 < args.seconds <= 120:
        p.error("--seconds must be in (0, 120]")
    pyspy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    peers = find_peers_dir()
    gen = LoadGenerator((peers / "loadgen.py") if peers else ROOT / "bench" / "loadgen.py")
    workdir = Path(tempfile.mkdtemp(prefix="agave-profile-"))
    srv = OurServer(workdir / "srv", args.workers)
    try:
        srv.start()
        load = scenario_load(args.scenario, srv, workdir, args.list_count)
        gen.run(
            "warm-up",
            load,
            concurrency=args.concurrency,
            duration=2,
            requests=None if not load.bodies else 1,
        )
        pids = [w.pid for w in srv.worker_rss()]
        collapsed = workdir / "profile.txt"
        record = [
            pyspy,
            "record",
            "--format",
            "raw",
            "-o",
            str(collapsed),
            "-d",
            str(int(args.seconds)),
            "-r",
            "200",
            *(["--idle"] if args.idle else []),
            "-p",
            str(pids[0]),
        ]
        spy = subprocess.Popen(record, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        result = {}
        runner = threading.Thread(
            target=lambda: result.setdefault(
                "r",
                gen.run(args.scenario, load, concurrency=args.concurrency, duration=args.seconds),
            )
        )
        runner.start()
        _, err = spy.communicate(timeout=args.seconds + 120)
        runner.join(args.seconds + 200)
        r = result.get("r")
        if r:
            print(
                f"{args.scenario}: {r.rps:.1f} req/s, p50 {r.p50} ms, p99 {r.p99} ms, "
                f"errors {r.errors or 0}"
            )
        if spy.returncode != 0 or not collapsed.exists():
            print(f"py-spy failed ({spy.returncode}): {err.strip()[-800:]}", file=sys.stderr)
            return 1
        print(summarise(collapsed, args.top))
        if args.flame:
            shutil.copy(collapsed, args.flame.with_suffix(".collapsed.txt"))
        return 0
    finally:
        srv.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
