"""CLI start-up: ``agave clients list --json`` vs agavepy 0.9.5 vs ``curl``.

All three send the same request (``GET /clients/v2`` with Basic) to the same
running server, so the server's share (one argon2 check) cancels out:
overhead = a command's wall time − curl's. Each command must succeed and print
the user's clients, or it is not timed at all.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

# What a user of agavepy 0.9.5 runs (the seed session's ``clients_list``), with the
# password prompt answered from the environment as a person would type it. (Its generated
# ``ag.clients.list()`` is no alternative: the bundled swagger spec forces https.)
LEGACY_SCRIPT = """\
import getpass, os
getpass.getpass = lambda prompt="": os.environ["BENCH_PASSWORD"]
from agavepy.agave import Agave
ag = Agave(api_server=os.environ["BENCH_URL"], username=os.environ["BENCH_USER"])
ag.clients_list()
"""


def _clean_env(**extra: str) -> dict[str, str]:
    """The user's environment minus what would skew start-up (no bytecode writing ban)."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONDONTWRITEBYTECODE", "AGAVE_TENANTS_API_BASEURL")
    }
    env.update(extra)
    return env


def run_once(cmd: list[str], env: dict[str, str], expect: set[str]) -> float:
    """Wall seconds of one run, which must succeed and print ``expect``.

    ``expect``: client names that must appear in the output, so a failing
    command (an error message printed fast) is never mistaken for a fast one.
    """
    t0 = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    elapsed = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(f"{cmd[0]} exited {res.returncode}: {res.stderr.strip()[-500:]}")
    missing = [n for n in expect if n not in res.stdout]
    if missing:
        raise RuntimeError(f"{' '.join(cmd[:3])}: output lacks {missing[:3]}: {res.stdout[:300]!r}")
    return elapsed


def time_interleaved(
    commands: dict[str, list[str]], env: dict[str, str], repeats: int, expect: set[str]
) -> tuple[dict[str, list[float]], list[str]]:
    """Wall seconds of ``repeats`` rounds in which every command runs once, in turn.

    Interleaved, so a change in the machine's load (or in the server's argon2 speed) during
    the measurement weighs on every command alike, instead of on whichever ran in that
    minute. One untimed warm-up run of each first (it also writes bytecode caches). A
    command that fails is reported and left out.
    """
    times: dict[str, list[float]] = {}
    problems: list[str] = []
    for key, cmd in commands.items():
        try:
            run_once(cmd, env, expect)
            times[key] = []
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
            problems.append(f"CLI start-up, {key}: {e}")
    for _ in range(repeats):
        for key in list(times):
            try:
                times[key].append(run_once(commands[key], env, expect))
            except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
                problems.append(f"CLI start-up, {key}: {e}")
                del times[key]
    return times, problems


def importtime(python: str, module: str = "agavepy.agave", repeats: int = 3) -> dict:
    """``python -X importtime -c "import MODULE"``: the total, and what weighs most in it.

    total_ms: the sum of the top-level entries' cumulative times (interpreter
    start-up imports included); module_ms: ``MODULE``'s own cumulative time;
    top: the heaviest packages it pulls in (cumulative, nested ones included).
    """
    runs = []
    for _ in range(repeats + 1):
        res = subprocess.run(
            [python, "-X", "importtime", "-c", f"import {module}"],
            env=_clean_env(),
            capture_output=True,
            text=True,
            timeout=120,
        )
        if res.returncode != 0:
            raise RuntimeError(f"import {module} failed: {res.stderr.strip()[-500:]}")
        total, own, packages = 0.0, 0.0, {}
        for line in res.stderr.splitlines():
            if not line.startswith("import time:") or "cumulative" in line:
                continue
            _, cumulative, name = line.removeprefix("import time:").split("|", 2)
            ms = int(cumulative) / 1000.0
            if not name.startswith("  "):  # top level: one space of padding only
                total += ms
            name = name.strip()
            if name == module:
                own = ms
            elif "." not in name and name not in ("site", "encodings", module.split(".")[0]):
                packages[name] = max(ms, packages.get(name, 0.0))
        runs.append((total, own, packages))
    runs = sorted(runs[1:], key=lambda r: r[0])  # the first run wrote bytecode caches
    total, own, packages = runs[len(runs) // 2]
    heaviest = sorted(packages.items(), key=lambda kv: -kv[1])[:6]
    return {"total_ms": total, "module_ms": own, "top": heaviest, "runs_ms": [r[0] for r in runs]}


def help_time(repeats: int) -> dict:
    """Wall milliseconds of ``agave --help`` (median of ``repeats`` after one warm-up run)."""
    agave = str(Path(sys.executable).parent / "agave")
    env = _clean_env()
    runs = []
    for i in range(repeats + 1):
        t0 = time.perf_counter()
        res = subprocess.run([agave, "--help"], env=env, capture_output=True, text=True, timeout=60)
        elapsed = (time.perf_counter() - t0) * 1000
        if res.returncode != 0 or "clients" not in res.stdout:
            raise RuntimeError(f"agave --help exited {res.returncode}: {res.stderr[-300:]}")
        if i:
            runs.append(elapsed)
    return {"median_ms": statistics.median(runs), "runs_ms": runs}


def measure(
    url: str,
    username: str,
    password: str,
    names: list[str],
    *,
    repeats: int,
    legacy_python: Path | None,
    workdir: Path,
) -> dict:
    """Time the three commands; ``names`` are clients the user holds (checked in outputs)."""
    out: dict = {"repeats": repeats, "clients": len(names)}
    expect = set(names[:3])
    agave = str(Path(sys.executable).parent / "agave")
    cache = workdir / "agave-cache"
    cache.mkdir(exist_ok=True)
    env = _clean_env(
        AGAVE_CACHE_DIR=str(cache),
        AGAVE_PASSWORD=password,
        BENCH_URL=url,
        BENCH_USER=username,
        BENCH_PASSWORD=password,
    )
    commands: dict[str, list[str]] = {
        "curl": ["curl", "-sf", "-u", f"{username}:{password}", f"{url}/clients/v2"],
        "agave": [agave, "clients", "list", "--json", "-u", username, "-H", url],
    }
    if legacy_python is not None:
        script = workdir / "agavepy095_clients_list.py"
        script.write_text(LEGACY_SCRIPT)
        commands["agavepy095"] = [str(legacy_python), str(script)]
    if shutil.which("curl") is None:
        commands.pop("curl")
    measured, problems = time_interleaved(commands, env, repeats, expect)
    for key, times in measured.items():
        out[key] = {
            "median_ms": statistics.median(times) * 1000,
            "runs_ms": [t * 1000 for t in times],
        }
    base = out.get("curl", {}).get("median_ms")
    if base is not None:
        for key in ("agave", "agavepy095"):
            if key in out:
                out[key]["overhead_ms"] = out[key]["median_ms"] - base
    if "agave" in out and "agavepy095" in out and base is not None:
        legacy = out["agavepy095"]["overhead_ms"]
        out["overhead_ratio"] = out["agave"]["overhead_ms"] / legacy if legacy > 0 else None
    imports = {}
    for key, python in (("ours", sys.executable), ("agavepy095", legacy_python)):
        if python is None:
            continue
        try:
            imports[key] = importtime(str(python), repeats=min(3, repeats))
        except (RuntimeError, subprocess.TimeoutExpired) as e:
            problems.append(f"importtime, {key}: {e}")
    out["importtime_ms"] = imports
    try:
        out["help"] = help_time(max(3, repeats))
    except (RuntimeError, OSError, subprocess.TimeoutExpired) as e:
        problems.append(f"agave --help: {e}")
    out["problems"] = problems
    return out
