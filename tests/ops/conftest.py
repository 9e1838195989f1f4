"""Fixtures for the operations tests: metrics scraped, logs parsed, from the real server."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.server import ServerProcess


def scrape(srv: ServerProcess, **kw) -> dict[tuple[str, tuple], float]:
    """``/metrics`` parsed by prometheus-client's parser: {(sample name, labels): value}."""
    res = httpx.get(srv.base_url + "/metrics", timeout=30, **kw)
    assert res.status_code == 200, (res.status_code, res.text[:300])
    assert res.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, tuple], float] = {}
    for family in text_string_to_metric_families(res.text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def settled(srv: ServerProcess, timeout: float = 60.0) -> dict[tuple[str, tuple], float]:
    """A scrape once every worker has written its counts (each does about once a second):
    two scrapes 1.5 s apart that agree, apart from the scrapes' own requests."""

    def steady(samples: dict) -> dict:
        return {k: v for k, v in samples.items() if ("route", "/metrics") not in k[1]}

    deadline = time.monotonic() + timeout
    previous = scrape(srv)
    while True:
        time.sleep(1.5)
        current = scrape(srv)
        if steady(current) == steady(previous) or time.monotonic() > deadline:
            return current
        previous = current


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def delta(before: dict, after: dict, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def json_log(path: Path) -> list[dict]:
    """Every line of a JSON-format server log, parsed (a line that is not JSON fails)."""
    events = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if line.strip():
            try:
                events.append(json.loads(line))
            except json.JSONDecodeError:
                raise AssertionError(f"log line {number} is not JSON: {line[:200]!r}") from None
    return events
