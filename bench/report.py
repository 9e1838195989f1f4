"""Render one run's results (a JSON-able dict) as ``RESULTS.md``.

Only formatting lives here; the verdicts come from ``bench/targets.py``. The
same dict is saved next to the Markdown as ``.json`` so a report can be
re-rendered or compared (before/after) without re-running.
"""

from __future__ import annotations

from pathlib import Path

from bench.targets import OIDC_SIDES, check_all, cpu_efficiency, efficiency, oidc_best

SCENARIOS = {
    "bare_starlette": "bare Starlette + uvicorn `/health` (reference)",
    "health": "our bare `/health` (no DB): efficiency base",
    "client_credentials": "`client_credentials` grant",
    "refresh_token": "`refresh_token` grant (distinct pre-minted tokens)",
    "password": "`password` grant",
    "me": "bearer validation, `GET /profiles/v2/me`",
    "introspection": "introspection, `POST /oauth2/introspect` (RFC 7662, Basic)",
    "me_jwt": "bearer validation with a JWT access token (RFC 9068), `/profiles/v2/me`",
    "me_opaque_paired": "bearer validation, opaque, in turns with the JWT rounds above",
    "client_create": "client create, `POST /clients/v2` (Basic)",
    "decide_warm": "gateway decision, `GET /gateway/decide` (warm token, assertion cached)",
    "gateway_warm": "through nginx + auth_request to a trivial backend (warm token)",
    "nginx_noauth": "the same backend through nginx without auth_request",
}


def scenario_title(key: str) -> str:
    if key.startswith("list_"):
        return f"clients list, user with {int(key[5:]):,} clients (first page, Basic)"
    return SCENARIOS.get(key, key)


def _num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _lat(run: dict | None) -> str:
    if not run:
        return "—"
    return " / ".join(_num(run.get(k)) for k in ("p50", "p99", "max"))


def _errors(run: dict | None) -> str:
    if not run:
        return "—"
    n = sum(run["errors"].values())
    return "0" if n == 0 else f"**{n}** {run['errors']}"


def _cpu(run: dict | None) -> str:
    if not run or run.get("server_cpu_ms") is None:
        return "—"
    return _num(run["server_cpu_ms"], 2)


def _loads(*runs: dict | None) -> str:
    """The 1-min load average before each run (ours / peer): other work on the machine."""
    values = [_num(r.get("load_average")) for r in runs if r and r.get("load_average") is not None]
    return " / ".join(values) or "—"


def _scenario_rows(results: dict) -> list[str]:
    runs = results["runs"]
    ours, peer, bare = runs.get("ours", {}), runs.get("peer", {}), runs.get("bare", {})
    keys = ["bare_starlette"] if bare else []
    keys += [
        k
        for k in (
            "health",
            "client_credentials",
            "refresh_token",
            "password",
            "me",
            "me_jwt",
            "me_opaque_paired",
            "introspection",
            "decide_warm",
            "gateway_warm",
            "nginx_noauth",
            "client_create",
        )
        if k in ours or k in peer
    ]
    keys += sorted((k for k in ours if k.startswith("list_")), key=lambda k: int(k[5:]))
    rows = [
        "| scenario | ours req/s | ours p50 / p99 / max ms | ours errors | efficiency "
        "| ours CPU ms/req (efficiency) | peer req/s | peer p50 / p99 / max ms | peer errors "
        "| peer CPU ms/req | ours ÷ peer | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in keys:
        mine = bare.get("health") if key == "bare_starlette" else ours.get(key)
        theirs = peer.get(key)
        eff = None
        if key == "bare_starlette" and mine and ours.get("health"):
            eff = mine["rps"] / ours["health"]["rps"]
        elif key != "bare_starlette":
            eff = efficiency(results, key)
        ratio = mine["rps"] / theirs["rps"] if mine and theirs and theirs["rps"] else None
        cpu = _cpu(mine)
        cpu_eff = None if key == "bare_starlette" else cpu_efficiency(results, key)
        if cpu_eff is not None:
            cpu += f" ({cpu_eff:.3f})"
        rows.append(
            f"| {scenario_title(key)} | {_num(mine and mine['rps'])} | {_lat(mine)} "
            f"| {_errors(mine)} | {_num(eff, 3)} | {cpu} | {_num(theirs and theirs['rps'])} "
            f"| {_lat(theirs)} | {_errors(theirs)} | {_cpu(theirs)} "
            f"| {_num(ratio)}{'×' if ratio else ''} | {_loads(mine, theirs)} |"
        )
    return rows


def _oidc_rows(results: dict) -> list[str]:
    """Ours beside both oidc-provider set-ups, scenario by scenario (same run, interleaved)."""
    runs = results["runs"]
    if not any(runs.get(side) for side in OIDC_SIDES):
        return ["Not measured (no `shared/peers/oidc` next to the repository, or `--no-peer`)."]
    rows = [
        "Each scenario ran against ours, then the DOT peer, then oidc-provider on its memory "
        "adapter (1 process) and on Redis (2 workers). CPU ms/req counts every process of the "
        'server, and redis-server for the Redis set-up. "better" is the set-up with more '
        "req/s in this run.",
        "",
        "| scenario | ours req/s | ours CPU ms/req | oidc (memory) req/s | CPU ms/req "
        "| oidc (Redis) req/s | CPU ms/req (+redis) | ours ÷ better oidc (req/s) "
        "| ours CPU ÷ oidc-Redis CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key in ("client_credentials", "refresh_token", "me", "introspection"):
        mine = runs.get("ours", {}).get(key)
        mem, red = runs.get("oidc", {}).get(key), runs.get("oidc_redis", {}).get(key)
        if not (mine or mem or red):
            continue
        best = oidc_best(results, key)
        ratio = mine["rps"] / best["rps"] if mine and best and best["rps"] else None
        cpu_ratio = None
        if mine and red and mine.get("server_cpu_ms") and red.get("server_cpu_ms"):
            cpu_ratio = mine["server_cpu_ms"] / red["server_cpu_ms"]
        rows.append(
            f"| {scenario_title(key)} | {_num(mine and mine['rps'])} | {_cpu(mine)} "
            f"| {_num(mem and mem['rps'])} | {_cpu(mem)} | {_num(red and red['rps'])} "
            f"| {_cpu(red)} | {_num(ratio, 2)}{'×' if ratio else ''} "
            f"| {_num(cpu_ratio, 2)}{'×' if cpu_ratio else ''} |"
        )
    return rows


def _hash_section(results: dict) -> list[str]:
    h = results.get("hash")
    if not h:
        return ["Not measured."]
    return [
        f"- Parameters (read from the hash the server stored for the benchmark user): "
        f"{h['parameters']}.",
        f"- One verification: **{h['single_ms']:.1f} ms** (median of 5, one process).",
        f"- {h['processes']} processes verifying in parallel: **{h['per_second']:.1f} "
        f"verifications/s**: the ceiling for a password grant and for every "
        f"Basic-authenticated call (client create, clients list).",
        *(
            f"- Measured again just before `{key}`: {rate:.1f} verifications/s (the targets "
            "compare that scenario with this figure)."
            for key, rate in (results.get("hash_adjacent") or {}).items()
        ),
    ]


def _list_section(results: dict) -> list[str]:
    lat = results.get("list_latency") or {}
    if not lat:
        return ["Not measured."]
    single = (results.get("hash") or {}).get("single_ms")
    rows = [
        "Concurrency 1 (service time, no queueing). The Basic check (one argon2 "
        "verification) is part of every request; the last column is what is left "
        "for the query and the response.",
        "",
        "| clients held | requests | p50 ms | p99 ms | max ms | errors "
        "| p50 − one argon2 verification, ms |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for count in sorted(lat, key=int):
        run = lat[count]
        rest = run["p50"] - single if single and run.get("p50") is not None else None
        rows.append(
            f"| {int(count):,} | {run['requests']} | {_num(run['p50'])} "
            f"| {_num(run['p99'])} | {_num(run['max'])} | {_errors(run)} | {_num(rest)} |"
        )
    return rows


def _startup_section(results: dict) -> list[str]:
    s = results.get("startup")
    if not s:
        return ["Not measured."]
    rows = [
        f"Median wall time over {s['repeats']} rounds of the same request "
        f"(`GET /clients/v2`, Basic, a user with {s['clients']} clients), the three commands "
        "taking turns within each round; overhead = wall − curl's.",
        "",
        "| command | median wall ms | overhead ms |",
        "|---|---:|---:|",
    ]
    for key, title in (
        ("agave", "`agave clients list --json` (ours)"),
        ("agavepy095", "script with agavepy 0.9.5 (`Agave(...).clients_list()`)"),
        ("curl", "`curl -u USER:PASS .../clients/v2`"),
    ):
        item = s.get(key)
        if item:
            rows.append(
                f"| {title} | {_num(item['median_ms'])} | {_num(item.get('overhead_ms'))} |"
            )
        else:
            rows.append(f"| {title} | not run | — |")
    rows.append("")
    rows.append(f"Overhead ratio (ours ÷ agavepy 0.9.5): **{_num(s.get('overhead_ratio'), 2)}**.")
    imp = s.get("importtime_ms") or {}
    if imp:
        rows.append("")
        rows.append(
            '`python -X importtime -c "import agavepy.agave"` (median of the runs; '
            "the total includes the interpreter's own start-up imports):"
        )
        rows.append("")
        for key, title in (("ours", "ours"), ("agavepy095", "agavepy 0.9.5")):
            if key in imp:
                item = imp[key]
                rows.append(
                    f"- {title}: **{item['total_ms']:.1f} ms** in all, of which "
                    f"`agavepy.agave` {item.get('module_ms', 0):.1f} ms; heaviest "
                    "packages it pulls in: "
                    + ", ".join(f"`{n}` {ms:.1f} ms" for n, ms in item["top"])
                )
    return rows


def _gateway_section(results: dict) -> list[str]:
    runs = results["runs"].get("ours", {})
    first = results.get("gateway_first_call")
    if results.get("gateway_skipped"):
        return [f"Not measured: {results['gateway_skipped']}."]
    if not first and "gateway_warm" not in runs:
        return ["Not measured."]
    rows = [
        "nginx runs the config `agave-server gateway nginx-config` printed (one worker, no "
        "access log), `auth_request` to our server; the backend is a bare Starlette app "
        "(`bench/backend_app.py`, one uvicorn worker). The plain nginx is the same proxying "
        "without `auth_request`. All of them share the machine's cores.",
        "",
    ]
    warm, plain = runs.get("gateway_warm"), runs.get("nginx_noauth")
    if warm and plain and plain["rps"]:
        rows.append(
            f"- Through the gateway {warm['rps']:,.1f} req/s against {plain['rps']:,.1f} "
            f"without auth: **{warm['rps'] / plain['rps']:.2f}×**."
        )
    if first:
        rows.append(
            f"- A fresh token's first call (the assertion is signed, RS256): p50 "
            f"**{first['first_p50_ms']:.1f} ms** (p90 {first['first_p90_ms']:.1f}); the "
            f"same token's next call: p50 **{first['warm_p50_ms']:.1f} ms** (p90 "
            f"{first['warm_p90_ms']:.1f}); {first['calls']} tokens, one at a time."
        )
    return rows


def _rss_section(results: dict) -> list[str]:
    rss = results.get("rss") or {}
    if not rss:
        return ["Not measured."]
    rows = [
        "VmRSS counts the pages of SQLite's memory-mapped database file (`PRAGMA mmap_size`), "
        "which are the kernel's page cache of that file, shared by every worker that maps it; "
        "the last column is what the worker holds itself (the RSS target is judged on it).",
        "",
        "| server | worker pid | RSS MB | of which the mapped database file, MB "
        "| RSS without it, MB |",
        "|---|---:|---:|---:|---:|",
    ]
    for side, title in (
        ("ours", "ours"),
        ("peer", "peer (gunicorn)"),
        ("oidc", "oidc-provider (memory)"),
        ("oidc_redis", "oidc-provider (Redis)"),
        ("bare", "bare Starlette"),
    ):
        for w in rss.get(side) or []:
            mapped = w.get("mapped_db_mb", 0.0)
            rows.append(
                f"| {title} | {w['pid']} | {w['rss_mb']:.1f} | {mapped:.1f} "
                f"| {w['rss_mb'] - mapped:.1f} |"
            )
    return rows


def _server_startup_section(results: dict) -> list[str]:
    s = results.get("server_startup")
    if not s:
        return ["Not measured."]
    return [
        f"`agave-server serve --workers 1` on a migrated {s['database']} database with one "
        f"tenant (a restart), {s['repeats']} starts after an untimed one: from exec to the first "
        f"200 on `/health`, median **{s['median_ms']:.0f} ms** wall (runs: "
        + ", ".join(f"{x:.0f}" for x in s["runs_ms"])
        + f"), **{s['cpu_median_ms']:.0f} ms** of the server's CPU by then "
        f"(load average {s['load_average']:.2f}).",
    ]


def _signing_section(results: dict) -> list[str]:
    s = results.get("signing")
    if not s:
        return ["Not measured."]
    rows = [
        "CPU µs per operation in one process (`bench/signing.py`: joserfc's `jwt.encode` / "
        "`jwt.decode`, as `oauth/keys.py` calls them, on an RFC 9068 access token's claims; "
        "best of 3 rounds). The choice of the default is in bench/NOTES.md.",
        "",
        "| algorithm | sign µs | verify µs | token bytes |",
        "|---|---:|---:|---:|",
    ]
    for alg, item in s.items():
        rows.append(
            f"| {alg} | {item['sign_us']:.1f} | {item['verify_us']:.1f} | {item['token_bytes']} |"
        )
    return rows


def _postgres_section(results: dict) -> list[str]:
    pg = results["runs"].get("ours_pg") or {}
    if not pg:
        return ["Not run (`--db postgresql://...` runs the shared scenarios on PostgreSQL too)."]
    sqlite = results["runs"].get("ours", {})
    rows = [
        "The shared scenarios again, our server on PostgreSQL (`--db`), after the SQLite pass, "
        "same settings. Efficiency: ÷ the same server's `/health`. CPU: the server's processes "
        "only (PostgreSQL's backends are not counted). oidc-provider: its better set-up's "
        "req/s from the interleaved SQLite pass.",
        "",
        "| scenario | SQLite req/s | SQLite CPU ms/req | PostgreSQL req/s | PostgreSQL p50 / p99 "
        "/ max ms | PostgreSQL errors | PostgreSQL efficiency | PostgreSQL CPU ms/req "
        "| PostgreSQL ÷ oidc-provider | load avg |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    base = (pg.get("health") or {}).get("rps")
    for key in (
        "health",
        "client_credentials",
        "refresh_token",
        "me",
        "introspection",
        "me_jwt",
        "me_opaque_paired",
    ):
        run = pg.get(key)
        if not run:
            continue
        best = oidc_best(results, key)
        eff = run["rps"] / base if base and key != "health" else None
        ratio = run["rps"] / best["rps"] if best else None
        mine = sqlite.get(key)
        rows.append(
            f"| {scenario_title(key)} | {_num(mine and mine['rps'])} | {_cpu(mine)} "
            f"| {_num(run['rps'])} | {_lat(run)} | {_errors(run)} | {_num(eff, 3)} "
            f"| {_cpu(run)} | {_num(ratio, 2)}{'×' if ratio else ''} | {_loads(run)} |"
        )
    return rows


def render(results: dict, notes: str = "") -> str:
    m, st = results["machine"], results["settings"]
    lines = [
        "# Benchmark results",
        "",
        "Generated by `python3 tasks.py bench` (`bench/run.py`); do not edit by hand "
        "(hand-written findings go in `bench/NOTES.md`, included at the end).",
        "",
        "## Machine and settings",
        "",
        *(f"- {k}: {v}" for k, v in m.items()),
        *(f"- {k}: {v}" for k, v in st.items()),
        "",
        "## Scenarios",
        "",
        "Throughput (req/s) and latency (ms, nearest rank) from `shared/peers/loadgen.py`; "
        "efficiency = scenario req/s ÷ our bare `/health` req/s in this run (same server, "
        "same workers). The peer has no clients API, so those rows are ours alone. "
        "CPU ms/req: CPU time of all the server's processes during the run ÷ requests "
        "(in brackets: our `/health`'s CPU per request ÷ this one's, an efficiency that "
        "other programs on the machine cannot skew; with PostgreSQL, its backends are not "
        "counted). Load avg: the machine's 1-minute load average just before the run "
        "(ours / peer); "
        f"with {m.get('nproc', '?')} cores, anything above that means other programs "
        "shared the CPU during the run.",
        "",
        *_scenario_rows(results),
        "",
        "## Beside oidc-provider (node, certified OpenID Provider)",
        "",
        *_oidc_rows(results),
        "",
        "## Ours on PostgreSQL",
        "",
        *_postgres_section(results),
        "",
        "## Targets",
        "",
        "| target | measured | verdict |",
        "|---|---|---|",
        *(f"| {c.target} | {c.measured} | **{c.verdict}** |" for c in check_all(results)),
        "",
        "## Password hashing: the limit for password grants and Basic calls",
        "",
        *_hash_section(results),
        "",
        "## Clients list: first-page latency by number of clients",
        "",
        *_list_section(results),
        "",
        "## Gateway",
        "",
        *_gateway_section(results),
        "",
        "## CLI start-up",
        "",
        *_startup_section(results),
        "",
        "## Server start-up",
        "",
        *_server_startup_section(results),
        "",
        "## JWT signing cost",
        "",
        *_signing_section(results),
        "",
        "## Server memory at the end (VmRSS per worker)",
        "",
        *_rss_section(results),
        "",
    ]
    problems = results.get("problems") or []
    if problems:
        lines += ["## What did not run", "", *(f"- {p}" for p in problems), ""]
    if notes.strip():
        lines += [notes.strip(), ""]
    return "\n".join(lines)


def write(results: dict, out: Path, notes_path: Path | None = None) -> None:
    import json

    notes = notes_path.read_text() if notes_path and notes_path.is_file() else ""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render(results, notes))
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n")
