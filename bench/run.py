#!/usr/bin/env python3
"""Benchmark our tenant server beside the DOT peer and a bare endpoint; write RESULTS.md.

    python3 tasks.py bench                 # full run (about 10 minutes), peer included if present
    python3 tasks.py bench --no-peer       # ours and the bare endpoint only
    python3 tasks.py bench --smoke --out /tmp/r.md   # 1–2 s per scenario, no peer (CI)

Everything runs on loopback; every process started here is stopped by its pid;
every load run stops by itself (loadgen's duration/request/bodies bounds).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import hashlimit, machine, report, seed, server_startup, signing, startup  # noqa: E402
from bench.bare import BareServer  # noqa: E402
from bench.load import (  # noqa: E402
    REQUEST_TIMEOUT_S,
    Load,
    LoadGenerator,
    Result,
    combine,
    find_peers_dir,
)
from bench.oidc_peer import OidcPeer  # noqa: E402
from bench.ours import OurServer  # noqa: E402
from bench.peer import Peer  # noqa: E402
from bench.procs import tree_cpu_seconds  # noqa: E402

DEFAULT_OUT = ROOT / "bench" / "RESULTS.md"
NOTES = ROOT / "bench" / "NOTES.md"
PEER_WARMUP_REQUESTS = 8
STARTUP_CLIENTS = 10  # a typical user: one page, one request for every command
# The oidc-provider set-ups (shared/peers/oidc): side name in the results -> workers.
# One process on the memory adapter, or a 2-worker cluster on Redis.
OIDC_SIDES = {"oidc": 1, "oidc_redis": 2}
# Scenarios run against oidc-provider too (it has no password grant and no clients API).
OIDC_SCENARIOS = ("client_credentials", "refresh_token", "me", "introspection")
PHASES = (
    "bare",
    "health",
    "client_credentials",
    "password",
    "refresh_token",
    "me",
    "introspection",
    "me_jwt",
    "gateway",
    "client_create",
    "lists",
    "startup",
    "server_startup",
    "signing",
)
FRESH_TOKENS = 200  # first calls of fresh tokens timed (smoke: 10)
PAIR_ROUNDS = 4  # opaque and JWT bearer rounds, taking turns (ABBA), for their ratio


@dataclass
class Settings:
    concurrency: int
    duration: float
    warmup: float
    workers: int
    list_counts: tuple[int, ...]
    latency_duration: float
    hash_seconds: float
    startup_repeats: int
    peer: bool
    only: frozenset[str] | None = None
    postgres: str | None = None  # --db: a second pass of ours on this PostgreSQL server

    def wants(self, phase: str) -> bool:
        return self.only is None or phase in self.only

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        smoke = args.smoke
        return cls(
            # Smoke mode checks that every path works, not how fast: few clients in flight
            # keep the password-hash-bound scenarios to a couple of seconds each.
            concurrency=args.concurrency or (4 if smoke else 32),
            duration=args.duration or (1.0 if smoke else 20.0),
            warmup=args.warmup if args.warmup is not None else (0.0 if smoke else 3.0),
            workers=args.workers,
            list_counts=tuple(
                args.list_counts or ((100, 1000) if smoke else (100, 10_000, 100_000))
            ),
            latency_duration=1.0 if smoke else 5.0,
            hash_seconds=1.0 if smoke else 5.0,
            startup_repeats=1 if smoke else 15,
            peer=not (smoke or args.no_peer),
            only=frozenset(args.only) if args.only else None,
            postgres=args.db,
        )


class Bench:
    """One run: the servers, the load generator and the results dict being filled."""

    def __init__(self, settings: Settings, workdir: Path, loadgen: Path) -> None:
        self.s = settings
        self.workdir = workdir
        self.gen = LoadGenerator(loadgen)
        self.results: dict = {
            "machine": machine.describe(),
            "settings": {
                "workers (ours, peer, bare)": settings.workers,
                "concurrency": settings.concurrency,
                "duration per scenario": f"{settings.duration:g} s, after a separate uncounted "
                f"{settings.warmup:g} s warm-up run",
                "database (ours)": ("PostgreSQL" if _pg() else "SQLite (file, temp dir)")
                + ("; then PostgreSQL (`--db`, rows `ours_pg`)" if settings.postgres else ""),
                "load generator": str(loadgen),
            },
            "runs": {"ours": {}, "peer": {}, "bare": {}, **{side: {} for side in OIDC_SIDES}},
            "problems": [],
        }
        self.ours: OurServer | None = None
        self.peer: Peer | None = None
        self.bare_server: BareServer | None = None
        self.oidc: dict[str, OidcPeer] = {}

    # -- helpers -----------------------------------------------------------
    def note(self, problem: str) -> None:
        problem = " ".join(problem.split())  # one line in the report
        print(f"[bench] PROBLEM: {problem}", file=sys.stderr, flush=True)
        self.results["problems"].append(problem)

    def attempt(self, what: str, fn: Callable[[], object]) -> object | None:
        """Run one step; a failure is recorded and the run goes on with the next step."""
        try:
            return fn()
        except Exception as e:
            traceback.print_exc()
            self.note(f"{what}: {type(e).__name__}: {str(e)[:500]}")
            return None

    def load(
        self,
        side: str,
        key: str,
        load: Load,
        *,
        warmup_load: Load | None = None,
        concurrency: int | None = None,
        duration: float | None = None,
        warmup: float | None = None,
        warmup_requests: int | None = None,
    ) -> Result:
        """Warm up in a separate, uncounted run; then measure from an idle server.

        loadgen's own ``--warmup`` leaves the warm-up's requests in flight at
        the start of the measured window, uncounted: for a slow endpoint (the
        peer's token endpoint at 5 req/s and concurrency 32 is 6 s of backlog)
        that understates throughput by a quarter. A separate warm-up run ends
        only when its last request is answered. Bodies files are one-shot, so
        those scenarios warm up on ``warmup_load`` (their own bodies) or not at all.
        """
        c = concurrency or self.s.concurrency
        w = self.s.warmup if warmup is None else warmup
        warm = warmup_load or (None if load.bodies else load)
        self.settle()
        if w > 0 and warm is not None:
            wres = self.gen.run(
                f"{side}/{key} warm-up", warm, concurrency=c, duration=w, requests=warmup_requests
            )
            if wres.error_count:
                print(
                    f"[bench] {side}/{key} warm-up errors: {wres.errors} {wres.first_error}",
                    file=sys.stderr,
                    flush=True,
                )
        load_average = os.getloadavg()[0]
        cpu0 = self._cpu_seconds(side)
        res = self.gen.run(
            f"{side}/{key}", load, concurrency=c, duration=duration or self.s.duration
        )
        res.load_average = load_average
        if cpu0 is not None and res.requests:
            res.server_cpu_ms = (self._cpu_seconds(side) - cpu0) * 1000 / res.requests
        print(
            f"[bench] {side:5} {key:20} {res.rps:10.1f} req/s  p50 {res.p50} p99 {res.p99} "
            f"max {res.max} ms  errors {res.errors or 0}"
            + (f" first: {res.first_error[:200]}" if res.first_error else ""),
            flush=True,
        )
        return res

    def settle(self, limit_s: float = 60.0, idle_cpu_s: float = 0.05) -> None:
        """Wait until every server of the run is idle before the next scenario starts.

        When loadgen stops, a slow server still has the requests already sent in its queue:
        the peer's token endpoint keeps hashing for several seconds after a run at
        concurrency 32, which stole CPU from whichever scenario came next (ours, in the
        previous full run: refresh_token at half the throughput it had on its own). Idle means
        less than ``idle_cpu_s`` of CPU used by all servers in half a second.
        """
        sides = ("ours", "peer", "bare", *self.oidc)
        roots = [pid for pid in (self._root_pid(s) for s in sides) if pid]
        deadline = time.monotonic() + limit_s
        while roots and time.monotonic() < deadline:
            try:
                before = sum(tree_cpu_seconds(r) for r in roots)
                time.sleep(0.5)
                used = sum(tree_cpu_seconds(r) for r in roots) - before
            except OSError:  # a server exited meanwhile: nothing left to wait for
                return
            if used < idle_cpu_s:
                return
        if roots and time.monotonic() >= deadline:
            print(
                f"[bench] servers still busy after {limit_s:.0f} s; starting anyway",
                file=sys.stderr,
                flush=True,
            )

    def _root_pid(self, side: str) -> int | None:
        """The pid at the top of the server measured on ``side`` (for its CPU time)."""
        if side == "ours" and self.ours is not None and self.ours.process.proc is not None:
            return self.ours.process.proc.pid
        if side == "peer" and self.peer is not None:
            return self.peer.master_pid()
        if side == "bare" and self.bare_server is not None and self.bare_server.proc is not None:
            return self.bare_server.proc.pid
        if side in self.oidc:
            return self.oidc[side].master_pid()
        return None

    def _cpu_seconds(self, side: str) -> float | None:
        """CPU used so far by what serves ``side``: its processes (and Redis, for oidc on it)."""
        if side in self.oidc:
            return self.oidc[side].cpu_seconds()
        root = self._root_pid(side)
        return tree_cpu_seconds(root) if root else None

    def record(self, side: str, key: str, res: Result) -> None:
        self.results["runs"][side][key] = asdict(res)

    # -- phases ------------------------------------------------------------
    def bare(self) -> None:
        with BareServer(self.s.workers, self.workdir / "bare.log") as srv:
            self.bare_server = srv
            self.record("bare", "health", self.load("bare", "health", Load(f"{srv.url}/health")))
            self.results.setdefault("rss", {})["bare"] = [asdict(w) for w in srv.worker_rss()]

    def hash_limit(self, before: str | None = None) -> None:
        """Raw argon2 verifications/s; with ``before``, again just ahead of that scenario.

        The machine's speed drifts from minute to minute, so each password-bound
        scenario is compared with a limit measured right before it.
        """
        assert self.ours is not None
        encoded = self.ours.stored_password_hash()
        limit = hashlimit.measure(
            encoded, self.ours.password, processes=self.s.workers, seconds=self.s.hash_seconds
        )
        if before is None:
            self.results["hash"] = asdict(limit)
        else:
            self.results.setdefault("hash_adjacent", {})[before] = limit.per_second
        print(
            f"[bench] argon2: {limit.parameters}; {limit.single_ms:.1f} ms; "
            f"{limit.per_second:.1f}/s with {limit.processes} processes",
            flush=True,
        )

    def token_scenarios(self, skip: frozenset[str] = frozenset()) -> None:
        """The token endpoint and bearer validation, ours then the peer's, interleaved."""
        o, p = self.ours, self.peer
        for key, form in (
            ("client_credentials", {"grant_type": "client_credentials"}),
            ("password", None),
            ("refresh_token", None),
            ("me", None),
        ):
            if not self.s.wants(key) or key in skip:
                continue
            if o is not None:
                self.attempt(f"ours/{key}", lambda k=key, f=form: self._ours_token(k, f))
                if key == "me" and self.s.wants("me_jwt"):
                    # Right after the opaque ``me``: the JWT ÷ opaque ratio compares two
                    # neighbouring minutes, not the run's start with its end.
                    self.attempt("ours/me_jwt", self._ours_me_jwt)
            if p is not None:
                self.attempt(f"peer/{key}", lambda k=key, f=form: self._peer_token(k, f))
            if key in OIDC_SCENARIOS:
                self.oidc_scenario(key)
        if self.s.wants("introspection"):
            if o is not None:
                self.attempt("ours/introspection", self._ours_introspection)
            self.oidc_scenario("introspection")
        me_ran = self.s.wants("me") and "me" not in skip
        if o is not None and self.s.wants("me_jwt") and not me_ran:
            self.attempt("ours/me_jwt", self._ours_me_jwt)

    def _ours_introspection(self) -> None:
        """RFC 7662 at ``/oauth2/introspect``: the client asks about a token it was issued."""
        o = self.ours
        assert o is not None
        token = o.password_grant()["access_token"]
        form = {"token": token}
        load = Load(f"{o.url}/oauth2/introspect", basic=o.client_basic, form=form)
        self.record("ours", "introspection", self.load("ours", "introspection", load))

    def oidc_scenario(self, key: str) -> None:
        """``key`` against each oidc-provider set-up, right after ours (interleaved)."""
        for side, peer in self.oidc.items():
            self.attempt(f"{side}/{key}", lambda s=side, p=peer: self._oidc_run(s, p, key))

    def _oidc_run(self, side: str, peer: OidcPeer, key: str) -> None:
        token_url = f"{peer.url}/token"
        if key == "client_credentials":
            form = {"grant_type": "client_credentials", "scope": "PRODUCTION"}
            load = Load(token_url, basic=peer.basic, form=form)
        elif key == "me":
            load = Load(f"{peer.url}/profiles/v2/me", bearer=peer.bearer)
        elif key == "introspection":
            form = {"token": peer.bearer}
            load = Load(f"{peer.url}/token/introspection", basic=peer.basic, form=form)
        else:  # refresh_token: distinct never-used minted tokens, as ours get
            warm_n = min(len(peer.refresh_bodies) // 4, self._refresh_sizes()[0])
            warm = peer.write_refresh_bodies(self.workdir / f"{side}-refresh.warm.txt", 0, warm_n)
            main_n = len(peer.refresh_bodies) - warm_n
            bodies = peer.write_refresh_bodies(
                self.workdir / f"{side}-refresh.main.txt", warm_n, main_n
            )
            load = Load(token_url, basic=peer.basic, bodies=bodies)
            warm_load = Load(token_url, basic=peer.basic, bodies=warm)
            self.record(side, key, self.load(side, key, load, warmup_load=warm_load))
            return
        self.record(side, key, self.load(side, key, load))

    def _refresh_sizes(self) -> tuple[int, int]:
        """How many distinct refresh tokens a warm-up and a measured run need at most."""
        cc = self.results["runs"]["ours"].get("client_credentials")
        pace = max(cc["rps"] if cc else 1000.0, 3000.0)
        warm_n = int(min(100_000, max(50, pace * self.s.warmup * 1.5)))
        main_n = int(min(400_000, max(200, pace * self.s.duration * 1.5)))
        return warm_n, main_n

    def _ours_me_jwt(self) -> None:
        """``/profiles/v2/me`` with an RFC 9068 JWT access token, against the opaque one in
        alternating rounds.

        Back-to-back runs of one scenario differ here by up to 30 % (NOTES.md item 35), more
        than the difference being measured, so one JWT run beside one opaque run decides
        nothing. The two tokens take turns instead, ABBA (opaque, JWT, JWT, opaque, ...):
        a drift in the machine's speed weighs on both alike. ``me_jwt`` and
        ``me_opaque_paired`` are the sums of their rounds (each keeps its rounds' req/s in
        ``rounds_rps``). The tenant issues JWTs only long enough to mint one: a JWT stays
        valid when the tenant goes back to opaque tokens (the validator accepts both).
        """
        o = self.ours
        assert o is not None
        try:
            jwt_token = o.switch_token_format("jwt")
        finally:
            opaque_token = o.switch_token_format("opaque")
        loads = {
            "opaque": Load(f"{o.url}/profiles/v2/me", bearer=opaque_token),
            "jwt": Load(f"{o.url}/profiles/v2/me", bearer=jwt_token),
        }
        per_round = max(self.s.duration / PAIR_ROUNDS, 0.5)
        rounds: dict[str, list[Result]] = {"opaque": [], "jwt": []}
        for i in range(PAIR_ROUNDS):
            order = ("opaque", "jwt") if i % 2 == 0 else ("jwt", "opaque")
            for kind in order:
                warm = self.s.warmup if i == 0 else 0.0
                label = "me_jwt" if kind == "jwt" else "me_opaque_paired"
                res = self.load(
                    "ours", f"{label} round {i + 1}", loads[kind], duration=per_round, warmup=warm
                )
                rounds[kind].append(res)
        for kind, key in (("jwt", "me_jwt"), ("opaque", "me_opaque_paired")):
            self.record("ours", key, combine(key, rounds[kind]))
            self.results["runs"]["ours"][key]["rounds_rps"] = [r.rps for r in rounds[kind]]

    def _ours_token(self, key: str, form: dict | None) -> None:
        o = self.ours
        assert o is not None
        if key == "password":
            form = {
                "grant_type": "password",
                "username": o.username,
                "password": o.password,
                "scope": "PRODUCTION",
            }
            self.hash_limit(before=key)
        if key == "me":
            token = o.password_grant()["access_token"]
            load = Load(f"{o.url}/profiles/v2/me", bearer=token)
        elif key == "refresh_token":
            warm_bodies, bodies = self._ours_refresh_bodies()
            load = Load(f"{o.url}/token", basic=o.client_basic, bodies=bodies)
            warm = Load(f"{o.url}/token", basic=o.client_basic, bodies=warm_bodies)
            self.record("ours", key, self.load("ours", key, load, warmup_load=warm))
            return
        else:
            load = Load(f"{o.url}/token", basic=o.client_basic, form=form or {})
        self.record("ours", key, self.load("ours", key, load))

    def _ours_refresh_bodies(self) -> tuple[Path, Path]:
        """Distinct refresh tokens for the warm-up and the measured run.

        Sized on client_credentials' pace (a refresh does more, so is slower):
        loadgen stops early if a bodies file runs out, which the report shows.
        """
        o = self.ours
        assert o is not None
        warm_n, main_n = self._refresh_sizes()
        whole = self.workdir / "ours-refresh.txt"
        t0 = time.perf_counter()
        made = seed.refresh_bodies(o, warm_n + main_n, whole)
        print(
            f"[bench] minted {made} refresh tokens in {time.perf_counter() - t0:.1f} s", flush=True
        )
        return split_bodies(whole, warm_n)

    def _peer_token(self, key: str, form: dict | None) -> None:
        p = self.peer
        assert p is not None
        if key == "password":
            form = {
                "grant_type": "password",
                "username": "bench",
                "password": "bench-password",
                "scope": "PRODUCTION",
            }
        if key == "me":
            load = Load(f"{p.url}/profiles/v2/me", bearer=p.password_token()["access_token"])
        elif key == "refresh_token":
            whole = self.workdir / "peer-refresh.txt"
            p.mint_refresh_tokens(2200, whole)  # it serves about 5 refreshes/s
            warm_bodies, bodies = split_bodies(whole, 200)
            load = Load(f"{p.url}/token", basic=p.basic, bodies=bodies)
            warm = Load(f"{p.url}/token", basic=p.basic, bodies=warm_bodies)
            self.record(
                "peer",
                key,
                self.load(
                    "peer", key, load, warmup_load=warm, warmup_requests=PEER_WARMUP_REQUESTS
                ),
            )
            return
        else:
            load = Load(f"{p.url}/token", basic=p.basic, form=form or {})
        # Its token endpoint does a few requests per second: a few warm it up.
        cap = None if key == "me" else PEER_WARMUP_REQUESTS
        self.record("peer", key, self.load("peer", key, load, warmup_requests=cap))

    def gateway_scenarios(self) -> None:
        """nginx + auth_request to our decision vs plain nginx vs the decision alone."""
        from bench.gateway import GatewaySetup

        o = self.ours
        assert o is not None
        if not GatewaySetup.available():
            # Not a failure of the run: the machine lacks nginx (CI installs it).
            self.results["gateway_skipped"] = "nginx is not installed"
            print("[bench] gateway scenarios skipped: nginx is not installed", flush=True)
            return
        setup = GatewaySetup(o, self.workdir / "gateway")
        (self.workdir / "gateway").mkdir(exist_ok=True)
        try:
            setup.start()
            token = setup.token()
            for key, load in setup.loads(token).items():
                self.record("ours", key, self.load("ours", key, load))
            fresh = setup.fresh_tokens(10 if self.s.duration <= 1 else FRESH_TOKENS)
            self.results["gateway_first_call"] = setup.first_vs_warm(fresh)
            print(f"[bench] gateway first vs warm: {self.results['gateway_first_call']}")
        finally:
            setup.stop()

    def client_create(self) -> None:
        """``POST /clients/v2`` with a new name each time (a bodies file: each line sent once)."""
        o = self.ours
        assert o is not None
        limit = (self.results.get("hash") or {}).get("per_second") or 100.0
        warm_n = int(limit * self.s.warmup * 2 + 64)
        main_n = int(limit * self.s.duration * 2 + 64)
        tag = secrets.token_hex(3)
        whole = self.workdir / "create-bodies.txt"
        whole.write_text(
            "".join(
                f"clientName=bench-{tag}-{i}&description=benchmark+client+{i}\n"
                for i in range(warm_n + main_n)
            )
        )
        warm_bodies, bodies = split_bodies(whole, warm_n)
        self.hash_limit(before="client_create")
        load = Load(f"{o.url}/clients/v2", basic=o.user_basic, bodies=bodies)
        warm = Load(f"{o.url}/clients/v2", basic=o.user_basic, bodies=warm_bodies)
        self.record(
            "ours", "client_create", self.load("ours", "client_create", load, warmup_load=warm)
        )

    def clients_lists(self) -> None:
        o = self.ours
        assert o is not None
        for count in self.s.list_counts:
            username, password = f"lister{count}", "bench-pw-" + secrets.token_hex(8)
            o.add_user(username, password)
            t0 = time.perf_counter()
            seed.clients(o, username, password, count)
            print(
                f"[bench] seeded {count:,} clients for {username} in "
                f"{time.perf_counter() - t0:.1f} s",
                flush=True,
            )
            load = Load(f"{o.url}/clients/v2", basic=f"{username}:{password}")
            key = f"list_{count}"
            single = self.load(
                "ours",
                f"{key}@c1",
                load,
                concurrency=1,
                duration=self.s.latency_duration,
                warmup=0.5,
            )
            self.results.setdefault("list_latency", {})[str(count)] = asdict(single)
            # At concurrency 32 each request waits for about 32 / workers others: when that
            # exceeds loadgen's timeout the run would only measure timeouts.
            queue_s = (single.p50 or 0) / 1000 * self.s.concurrency / self.s.workers
            if queue_s > REQUEST_TIMEOUT_S / 2:
                self.note(
                    f"ours/{key} at concurrency {self.s.concurrency} skipped: one request "
                    f"takes {single.p50 / 1000:.1f} s alone, so requests would queue for "
                    f"about {queue_s:.0f} s (timeout {REQUEST_TIMEOUT_S} s)"
                )
                continue
            if count == self.s.list_counts[0]:
                self.hash_limit(before=key)
            self.record("ours", key, self.load("ours", key, load))

    def cli_startup(self) -> None:
        """``agave clients list --json`` vs agavepy 0.9.5 vs curl, for a user with a few clients.

        After ``settle``: it follows the argon2-bound clients-list runs, whose queued requests
        keep our workers hashing for seconds after the load generator stops (item 12).
        """
        o = self.ours
        assert o is not None
        self.settle()
        username, password = "cliuser", "bench-pw-" + secrets.token_hex(8)
        o.add_user(username, password)
        seed.clients(o, username, password, STARTUP_CLIENTS)
        legacy = self.attempt("agavepy 0.9.5 virtualenv", _legacy_python)
        names = seed.client_names(o, username, password, limit=3)
        res = startup.measure(
            o.url,
            username,
            password,
            names,
            repeats=self.s.startup_repeats,
            legacy_python=legacy,
            workdir=self.workdir,
        )
        res["clients"] = STARTUP_CLIENTS
        for problem in res.pop("problems"):
            self.note(problem)
        self.results["startup"] = res

    def server_start(self) -> None:
        """``agave-server serve --workers 1``: exec to the first 200 on /health, restarts."""
        res = server_startup.measure(
            self.workdir / "server-startup", repeats=3 if self.s.duration <= 1 else 9
        )
        print(
            f"[bench] server start-up: {res['median_ms']:.0f} ms to the first 200 "
            f"({res['cpu_median_ms']:.0f} ms CPU), {res['database']}",
            flush=True,
        )
        self.results["server_startup"] = res

    def jwt_signing(self) -> None:
        """Sign and verify cost per operation of each signature algorithm (in process)."""
        self.results["signing"] = signing.measure(0.05 if self.s.duration <= 1 else 0.5)

    def _start_ours(self, stack: contextlib.ExitStack) -> OurServer:
        ours = OurServer(self.workdir / "ours", self.s.workers)  # migrates its database
        stack.callback(ours.close)
        ours.start()
        return ours

    def memory(self) -> None:
        rss = self.results.setdefault("rss", {})
        if self.ours is not None:
            rss["ours"] = [asdict(w) for w in self.ours.worker_rss()]
        if self.peer is not None:
            rss["peer"] = [asdict(w) for w in self.peer.worker_rss()]
        for side, peer in self.oidc.items():
            rss[side] = [asdict(w) for w in peer.worker_rss()]

    # -- the whole run -----------------------------------------------------
    def run(self, peers_dir: Path | None) -> dict:
        self.results["machine"]["load average at start (1/5/15 min)"] = _loadavg()
        try:
            return self._run(peers_dir)
        finally:
            self.results["machine"]["load average at end (1/5/15 min)"] = _loadavg()

    def _run(self, peers_dir: Path | None) -> dict:
        if self.s.wants("bare"):
            self.attempt("bare Starlette endpoint", self.bare)
        with contextlib.ExitStack() as stack:
            self.ours = self.attempt("starting our server", lambda: self._start_ours(stack))
            if self.s.peer and peers_dir is not None:
                self._start_peer(stack, peers_dir)
                self._start_oidc(stack, peers_dir)
            elif self.s.peer:
                self.note(
                    "peers skipped (DOT and oidc-provider): no shared/peers folder next to "
                    "the repository"
                )
            if self.ours is not None:
                url = f"{self.ours.url}/health"
                if self.s.wants("health"):
                    self.attempt(
                        "ours/health",
                        lambda: self.record(
                            "ours", "health", self.load("ours", "health", Load(url))
                        ),
                    )
                if any(self.s.wants(x) for x in ("password", "client_create", "lists")):
                    self.attempt("argon2 limit", self.hash_limit)
            self.token_scenarios()
            if self.ours is not None and self.s.wants("gateway"):
                self.attempt("gateway", self.gateway_scenarios)
            if self.ours is not None:
                if self.s.wants("client_create"):
                    self.attempt("ours/client_create", self.client_create)
                if self.s.wants("lists"):
                    self.attempt("clients list", self.clients_lists)
                if self.s.wants("startup"):
                    self.attempt("CLI start-up", self.cli_startup)
            self.attempt("memory", self.memory)
        self.peer, self.oidc = None, {}  # stopped with the stack
        if self.s.postgres:
            self.attempt("ours on PostgreSQL", self.postgres_pass)
        # After our server and the peers have stopped: nothing else of the run competes.
        if self.s.wants("server_startup"):
            self.attempt("server start-up", self.server_start)
        if self.s.wants("signing"):
            self.attempt("JWT signing", self.jwt_signing)
        return self.results

    def postgres_pass(self) -> None:
        """The shared scenarios again with our server on PostgreSQL (``--db``): side ``ours_pg``.

        Run after the SQLite pass, with the same settings; the password-bound scenarios are
        left out (argon2 sets their pace on either database). The server's CPU per request
        does not count PostgreSQL's backends.
        """
        runs = self.results["runs"]
        sqlite_runs, saved = runs["ours"], self.ours
        runs["ours"] = {}
        previous = os.environ.get("AGAVE_TEST_DATABASE_URL")
        try:
            with contextlib.ExitStack() as stack:
                os.environ["AGAVE_TEST_DATABASE_URL"] = self.s.postgres
                self.ours = self._start_ours(stack)  # ServerProcess reads it: a database there
                if self.s.wants("health"):
                    load = Load(f"{self.ours.url}/health")
                    self.record("ours", "health", self.load("ours", "health", load))
                self.token_scenarios(skip=frozenset({"password"}))
        finally:
            if previous is None:
                os.environ.pop("AGAVE_TEST_DATABASE_URL", None)
            else:
                os.environ["AGAVE_TEST_DATABASE_URL"] = previous
            runs["ours_pg"], runs["ours"], self.ours = runs["ours"], sqlite_runs, saved

    def _start_peer(self, stack: contextlib.ExitStack, peers_dir: Path) -> None:
        peer = Peer(peers_dir, self.s.workers)
        stack.callback(peer.stop)
        self.attempt("peer setup", peer.setup)
        if peer.client_id:
            self.attempt("peer start", peer.start)
            if peer.proc is not None and peer.proc.poll() is None:
                self.peer = peer

    def _start_oidc(self, stack: contextlib.ExitStack, peers_dir: Path) -> None:
        """Both oidc-provider set-ups, each with enough minted refresh tokens for its run."""
        if not (peers_dir / "oidc" / "start.sh").is_file():
            self.note("oidc-provider peer skipped: no shared/peers/oidc folder")
            return
        if shutil.which("node") is None:
            self.note("oidc-provider peer skipped: node is not installed")
            return
        warm_n, main_n = self._refresh_sizes()
        for side, workers in OIDC_SIDES.items():
            peer = OidcPeer(peers_dir, workers)
            stack.callback(peer.stop)
            if self.attempt(f"{side} setup", peer.setup) is None and not peer.client_id:
                continue
            self.attempt(f"{side} start", lambda p=peer: p.start(warm_n + main_n + 1, self.workdir))
            if peer.proc is not None and peer.proc.poll() is None and peer.bearer:
                self.oidc[side] = peer
                self.results["settings"][side] = peer.label


def split_bodies(path: Path, first: int) -> tuple[Path, Path]:
    """Split a one-body-per-line file after ``first`` lines: (warm-up file, measured file)."""
    lines = path.read_text().splitlines(keepends=True)
    head, tail = path.with_suffix(".warm.txt"), path.with_suffix(".main.txt")
    head.write_text("".join(lines[:first]))
    tail.write_text("".join(lines[first:]))
    return head, tail


def _loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def _pg() -> bool:
    return bool(os.environ.get("AGAVE_TEST_DATABASE_URL"))


def _legacy_python() -> Path:
    from tests.support.legacy import agavepy095_python

    return agavepy095_python()


def parse_args(argv: list[str]) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--smoke", action="store_true", help="1–2 s per scenario, small data, no peer")
    p.add_argument("--no-peer", action="store_true", help="skip the peers (DOT and oidc-provider)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="Markdown report (JSON beside it)")
    p.add_argument("--concurrency", type=int, help="clients in flight (default 32, smoke 4)")
    p.add_argument("--duration", type=float, help="seconds per scenario (default 20, smoke 1)")
    p.add_argument("--warmup", type=float, help="seconds of warm-up (default 3, smoke none)")
    p.add_argument("--workers", type=int, default=2)
    p.add_argument(
        "--list-counts",
        type=lambda s: [int(x) for x in s.split(",")],
        help="clients held by the listing users, e.g. 100,10000,100000",
    )
    p.add_argument(
        "--db",
        metavar="postgresql://...",
        default=os.environ.get("AGAVE_BENCH_POSTGRES_URL"),
        help="also run our shared scenarios on this PostgreSQL server (a throw-away database "
        "on it, dropped after), reported beside SQLite; env AGAVE_BENCH_POSTGRES_URL",
    )
    p.add_argument(
        "--render",
        type=Path,
        metavar="RESULTS.json",
        help="only re-render the report from a saved run's JSON",
    )
    p.add_argument(
        "--keep-workdir",
        action="store_true",
        help="keep the temporary folder (databases, server logs) for a post-mortem",
    )
    p.add_argument(
        "--only",
        type=lambda s: s.split(","),
        metavar="PHASE,...",
        help="run only these phases (for profiling): " + ",".join(PHASES),
    )
    args = p.parse_args(argv)
    if args.only and not set(args.only) <= set(PHASES):
        p.error(
            f"--only: unknown phase(s) {sorted(set(args.only) - set(PHASES))}; "
            f"choose from {', '.join(PHASES)}"
        )
    if args.concurrency is not None and not 1 <= args.concurrency <= 1024:
        p.error("--concurrency must be 1..1024")
    if args.duration is not None and not 0 < args.duration <= 600:
        p.error("--duration must be in (0, 600]")
    if args.warmup is not None and not 0 <= args.warmup <= 600:
        p.error("--warmup must be in [0, 600]")
    if args.db and not args.db.startswith(("postgresql://", "postgresql+psycopg://")):
        p.error(f"--db must be a postgresql:// URL, not {args.db!r}")
    if not 1 <= args.workers <= 64:
        p.error("--workers must be 1..64")
    if args.list_counts and not all(1 <= n <= 1_000_000 for n in args.list_counts):
        p.error("--list-counts: each count must be 1..1000000")
    return args


def _stop_on_sigterm() -> None:
    """SIGTERM (a CI timeout, ``kill PID``) unwinds like Ctrl-C, so every server is stopped."""
    import signal

    def handler(signum: int, _frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    _stop_on_sigterm()
    if args.render:
        # Re-render a saved run (e.g. after editing bench/NOTES.md) without measuring again.
        import json

        try:
            saved = json.loads(args.render.read_text())
        except (OSError, ValueError) as exc:
            print(
                f"[bench] --render {args.render}: cannot read a saved run's JSON ({exc})",
                file=sys.stderr,
            )
            return 2
        report.write(saved, args.out, NOTES)
        print(f"[bench] wrote {args.out} from {args.render}", flush=True)
        return 0
    settings = Settings.from_args(args)
    peers_dir = find_peers_dir()
    loadgen = peers_dir / "loadgen.py" if peers_dir else ROOT / "bench" / "loadgen.py"
    workdir = Path(tempfile.mkdtemp(prefix="agave-bench-"))
    try:
        results = Bench(settings, workdir, loadgen).run(peers_dir)
    except KeyboardInterrupt as e:
        print(
            f"[bench] interrupted ({e or 'Ctrl-C'}); every server was stopped, no report written",
            file=sys.stderr,
            flush=True,
        )
        return 130
    finally:
        if args.keep_workdir:
            print(f"[bench] kept {workdir} (server logs: */server.log)", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    report.write(results, args.out, NOTES)
    print(f"[bench] wrote {args.out} and {args.out.with_suffix('.json')}", flush=True)
    errors = sum(
        sum(r["errors"].values()) for runs in results["runs"].values() for r in runs.values()
    )
    return 1 if errors or results["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
