"""The authorization-code exchange (``grant_type=authorization_code``), opaque beside JWT.

A code is single-use, so a fixed-body load generator cannot replay one request; this script
mints the codes first (one signed-in browser session, consent remembered for an exact
callback, so each ``GET /oauth2/authorize`` answers 302 with a fresh code) and then
exchanges them from ``--concurrency`` threads. Only the exchanges are timed. Each code is
exchanged with its PKCE verifier and HTTP Basic, as a web application would.

    .venv/bin/python -m bench.code_exchange [--codes 600] [--concurrency 16] [--workers 2]

Prints one line per token format (exchanges/s, p50 and p99 latency, server CPU ms per
exchange) and the same as JSON with ``--json``. Not part of ``tasks.py bench`` (whose
loadgen replays one request); run it beside it.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import statistics
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from authlib.common.security import generate_token
from authlib.oauth2.rfc7636 import create_s256_code_challenge

from bench.ours import OurServer
from bench.procs import tree_cpu_seconds

CALLBACK = "http://localhost:9/cb"  # exact and not a loopback IP: consent is remembered


def _signed_in(server: OurServer) -> httpx.Client:
    browser = httpx.Client(base_url=server.url, timeout=60)
    page = browser.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    r = browser.post(
        "/login",
        data={"username": server.username, "password": server.password, "csrf_token": token},
    )
    assert r.status_code == 303, r.text
    return browser


def _client(server: OurServer) -> tuple[str, str]:
    r = httpx.post(
        f"{server.url}/clients/v2",
        auth=(server.username, server.password),
        data={"clientName": "bench-web-app", "callbackUrl": CALLBACK},
        timeout=60,
    )
    assert r.status_code == 201, r.text
    return r.json()["result"]["consumerKey"], r.json()["result"]["consumerSecret"]


def _mint(browser: httpx.Client, key: str, count: int) -> list[tuple[str, str]]:
    """``count`` (code, verifier) pairs; the first authorization answers the consent page."""
    out = []
    while len(out) < count:
        verifier = generate_token(48)
        params = {
            "response_type": "code",
            "client_id": key,
            "redirect_uri": CALLBACK,
            "scope": "openid profile",
            "code_challenge": create_s256_code_challenge(verifier),
            "code_challenge_method": "S256",
        }
        r = browser.get("/oauth2/authorize", params=params)
        if r.status_code == 200:  # the consent page: allow once, remembered from then on
            fields = dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', r.text))
            fields = {k: html.unescape(v) for k, v in fields.items()}
            r = browser.post("/oauth2/consent", data={**fields, "decision": "allow"})
        assert r.status_code == 302, r.text
        out.append((parse_qs(urlsplit(r.headers["location"]).query)["code"][0], verifier))
    return out


def _exchange(server, key, secret, codes, concurrency) -> dict:
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    work = iter(codes)

    def worker() -> None:
        nonlocal failures
        with httpx.Client(base_url=server.url, timeout=60, auth=(key, secret)) as http:
            while True:
                with lock:
                    item = next(work, None)
                if item is None:
                    return
                code, verifier = item
                t0 = time.perf_counter()
                r = http.post(
                    "/token",
                    data={
                        "grant_type": "authorization_code",
                        "code": code,
                        "redirect_uri": CALLBACK,
                        "code_verifier": verifier,
                    },
                )
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    failures += r.status_code != 200

    pid = server.process.proc.pid
    cpu0, t0 = tree_cpu_seconds(pid), time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall, cpu = time.perf_counter() - t0, tree_cpu_seconds(pid) - cpu0
    latencies.sort()
    return {
        "exchanges": len(latencies),
        "failures": failures,
        "per_second": round(len(latencies) / wall, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
        "server_cpu_ms": round(cpu * 1000 / len(latencies), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--codes", type=int, default=600)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as tmp, OurServer(Path(tmp), args.workers) as server:
        key, secret = _client(server)
        browser = _signed_in(server)
        for fmt in ("opaque", "jwt"):
            server.switch_token_format(fmt)
            codes = _mint(browser, key, args.codes)
            results[fmt] = _exchange(server, key, secret, codes, args.concurrency)
        browser.close()
    if args.json:
        print(json.dumps(results, indent=2))
        return
    for fmt, r in results.items():
        print(
            f"{fmt:>6}: {r['per_second']} exchanges/s, p50 {r['p50_ms']} ms, "
            f"p99 {r['p99_ms']} ms, {r['server_cpu_ms']} server CPU ms each "
            f"({r['failures']} failed of {r['exchanges']})"
        )


if __name__ == "__main__":
    main()
