"""Instructions per call of the hot routes, counted by valgrind: an A/B that load cannot skew.

On a shared two-core machine the in-process CPU times of ``bench/hot_inprocess.py`` move by
±8 % from one minute to the next, as much as most single changes to a hot path gain.
Instruction counts do not move: each route is run in process (as ``hot_inprocess`` runs it)
under ``valgrind --tool=callgrind``, once with no calls and once with ``--calls`` calls, and
the difference is divided by the calls. The per-process caches that expire by time (tenants,
keys, tier limits, the API catalogue) see a frozen monotonic clock during the calls: under
valgrind a call takes about fifty times longer, so they would otherwise reload fifty times as
often as in a real server.

    .venv/bin/python -m bench.instructions [--src OTHER/src] [--calls 1000] [ROUTE ...]

``--src`` measures another checkout's ``src`` (say, a ``git worktree`` of the last commit)
with this one's harness. Each route costs two valgrind runs of about a minute and a half
(the app's start-up, interpreted fifty times slower); they run two at a time.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench import hot_inprocess
from bench.ops_inprocess import _caller, _prepare

ROUTES = hot_inprocess.ROUTES
TTL_MODULES = (
    "agave_server.storage.tenants",
    "agave_server.oauth.keys",
    "agave_server.services.tiers",
    "agave_server.services.gateway",
)
_COLLECTED = re.compile(r"Collected : (\d+)")


class _FrozenMonotonic:
    """``time`` with ``monotonic`` stopped where it was (everything else passes through)."""

    def __init__(self) -> None:
        self._at = time.monotonic()

    def monotonic(self) -> float:
        return self._at

    def __getattr__(self, name: str):
        return getattr(time, name)


async def _calls(route: str, calls: int) -> None:
    """The child's work: the app, the route's request, three warm-up calls, then ``calls``."""
    from agave_server.app import create_app

    app = create_app()
    call = _caller(app)
    async with app.router.lifespan_context(app):
        method, path, body, headers = (await hot_inprocess._setup(call))[route]
        for _ in range(3):  # load the caches, sign the gateway's assertion
            await call(method, path, body, headers)
        frozen = _FrozenMonotonic()
        for name in TTL_MODULES:
            importlib.import_module(name).time = frozen  # type: ignore[attr-defined]
        for _ in range(calls):
            await call(method, path, body, headers)


def _prepared_env(src: Path, folder: Path) -> dict[str, str]:
    """A fresh database in ``folder`` (made with ``src``'s code) and the child's environment.

    ``_prepare`` works through ``os.environ``; it is restored afterwards, so runs are
    prepared one at a time and only the valgrind runs go in parallel."""
    saved = dict(os.environ)
    os.environ.update({"PYTHONPATH": f"{src}{os.pathsep}{Path.cwd()}", "PYTHONHASHSEED": "0"})
    try:
        _prepare(folder)  # sets the AGAVE_SERVER_* variables for the child
        hot_inprocess._add_echo_api_and_jwt_tenant()
        return dict(os.environ)
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _valgrind(env: dict[str, str], folder: Path, route: str, calls: int) -> int:
    """Instructions of one child run."""
    out = subprocess.run(
        [
            "valgrind",
            "--tool=callgrind",
            f"--callgrind-out-file={folder / 'callgrind.out'}",
            sys.executable,
            "-m",
            "bench.instructions",
            "--child",
            route,
            str(calls),
        ],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = _COLLECTED.search(out.stderr)
    if out.returncode != 0 or found is None:
        raise SystemExit(f"{route}: valgrind run failed:\n{out.stderr[-2000:]}")
    return int(found.group(1))


def _per_call(src: Path, route: str, calls: int) -> float:
    with (
        tempfile.TemporaryDirectory(prefix="bench-instructions-") as none_dir,
        tempfile.TemporaryDirectory(prefix="bench-instructions-") as many_dir,
    ):
        runs = [(Path(none_dir), 0), (Path(many_dir), calls)]
        jobs = [(_prepared_env(src, folder), folder, n) for folder, n in runs]
        with ThreadPoolExecutor(2) as pool:
            none, many = pool.map(lambda job: _valgrind(job[0], job[1], route, job[2]), jobs)
    return (many - none) / calls


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        asyncio.run(_calls(sys.argv[2], int(sys.argv[3])))
        return
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("routes", nargs="*", metavar="ROUTE", help=f"of {', '.join(ROUTES)}")
    parser.add_argument("--src", type=Path, default=Path("src").resolve())
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (Debian: apt-get install valgrind)")
    routes = args.routes or list(ROUTES)
    unknown = sorted(set(routes) - set(ROUTES))
    if unknown:
        parser.error(f"unknown route(s) {', '.join(unknown)}: choose from {', '.join(ROUTES)}")
    counts = {route: _per_call(args.src.resolve(), route, args.calls) for route in routes}
    base = counts.get("health")
    for route, count in counts.items():
        ratio = f"   ÷ /health {count / base:5.2f}" if base else ""
        print(f"{route:<18} {count:>10,.0f} instructions/call{ratio}")


if __name__ == "__main__":
    main()
