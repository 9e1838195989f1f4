"""Drive one scenario with the shared load generator and read its JSON summary.

``peers/loadgen.py`` is THE load generator for every server in a run, so that
ours, the peer and the bare endpoint are measured by the same client. This
module only builds its command line and parses its last stdout line.
"""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REQUEST_TIMEOUT_S = 120  # loadgen's maximum


def find_peers_dir() -> Path | None:
    """``/work/shared/peers`` or ``../shared/peers`` next to the repository, if present."""
    for candidate in (ROOT.parent / "shared" / "peers", Path("/work/shared/peers")):
        if (candidate / "loadgen.py").is_file():
            return candidate
    return None


@dataclass
class Load:
    """What to send: one URL, its credentials and body."""

    url: str
    basic: str | None = None
    bearer: str | None = None
    form: dict[str, str] = field(default_factory=dict)
    bodies: Path | None = None
    headers: list[str] = field(default_factory=list)  # 'Name: value'

    def args(self) -> list[str]:
        """``--name=value`` each: a value starting with ``-`` (a base64url token, one in 64)
        would otherwise be read by argparse as an option."""
        out = [f"--url={self.url}"]
        if self.basic:
            out.append(f"--basic={self.basic}")
        if self.bearer:
            out.append(f"--bearer={self.bearer}")
        out += [f"--form={key}={value}" for key, value in self.form.items()]
        if self.bodies:
            out.append(f"--bodies={self.bodies}")
        out += [f"--header={header}" for header in self.headers]
        return out


@dataclass
class Result:
    """One loadgen run, in the units RESULTS.md reports."""

    label: str
    rps: float
    requests: int
    errors: dict[str, int]
    p50: float | None
    p99: float | None
    max: float | None
    elapsed_s: float
    client_cpu_s: float
    bodies_left: int | None = None
    first_error: str | None = None
    load_average: float | None = None  # 1-min load average just before the run (others' work)
    server_cpu_ms: float | None = None  # the server's CPU time per request (all its processes)

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())

    @classmethod
    def from_json(cls, data: dict) -> Result:
        lat = data["latency_ms"]
        return cls(
            label=data.get("label", ""),
            rps=float(data["throughput_rps"]),
            requests=int(data["requests"]),
            errors=dict(data.get("errors") or {}),
            p50=lat.get("p50"),
            p99=lat.get("p99"),
            max=lat.get("max"),
            elapsed_s=float(data["elapsed_s"]),
            client_cpu_s=float(data["client_cpu_s"]),
            bodies_left=data.get("bodies_left"),
            first_error=data.get("first_error"),
        )


def combine(label: str, rounds: list[Result]) -> Result:
    """Several rounds of one load as one result: requests, time, errors and CPU summed.

    Latencies cannot be summed: p50 is the rounds' median p50, p99 and max their worst, so
    the p99 ÷ p50 check stays on the safe side.
    """
    if not rounds:
        raise ValueError("combine() needs at least one round")
    requests = sum(r.requests for r in rounds)
    elapsed = sum(r.elapsed_s for r in rounds)
    errors: dict[str, int] = {}
    for r in rounds:
        for kind, n in r.errors.items():
            errors[kind] = errors.get(kind, 0) + n
    p50s = sorted(r.p50 for r in rounds if r.p50 is not None)
    worst = [r.p99 for r in rounds if r.p99 is not None]
    maxes = [r.max for r in rounds if r.max is not None]
    cpu = [(r.server_cpu_ms, r.requests) for r in rounds if r.server_cpu_ms is not None]
    return Result(
        label=label,
        rps=requests / elapsed if elapsed else 0.0,
        requests=requests,
        errors=errors,
        p50=p50s[len(p50s) // 2] if p50s else None,
        p99=max(worst) if worst else None,
        max=max(maxes) if maxes else None,
        elapsed_s=elapsed,
        client_cpu_s=sum(r.client_cpu_s for r in rounds),
        first_error=next((r.first_error for r in rounds if r.first_error), None),
        load_average=rounds[0].load_average,
        server_cpu_ms=(
            sum(ms * n for ms, n in cpu) / sum(n for _, n in cpu)
            if cpu and sum(n for _, n in cpu)
            else None
        ),
    )


class LoadGenerator:
    """Runs ``loadgen.py`` with this interpreter (it is stdlib only)."""

    def __init__(self, script: Path) -> None:
        self.script = script

    def run(
        self,
        label: str,
        load: Load,
        *,
        concurrency: int,
        duration: float,
        warmup: float = 0.0,
        requests: int | None = None,
        extra: list[str] | None = None,
    ) -> Result:
        cmd = [
            sys.executable,
            str(self.script),
            "--label",
            label,
            *load.args(),
            "-c",
            str(concurrency),
            "-d",
            str(duration),
            "--warmup",
            str(warmup),
            *(["--requests", str(requests)] if requests else []),
            # The peer's password grant at concurrency 32 queues for about 25 s here:
            # loadgen's default 30 s per-request timeout would count it as failing.
            "--timeout",
            str(REQUEST_TIMEOUT_S),
            *(extra or []),
        ]
        # loadgen stops by itself; the margin covers the requests still in flight.
        proc = subprocess.run(
            cmd, capture_output=True, text=True, timeout=duration + warmup + REQUEST_TIMEOUT_S + 60
        )
        lines = proc.stdout.strip().splitlines()
        if proc.returncode != 0 or not lines:
            raise RuntimeError(
                f"loadgen {label} exited {proc.returncode}: {proc.stderr.strip()[-2000:]}"
            )
        return Result.from_json(json.loads(lines[-1]))
