"""The hot routes' CPU per request in one process: no network, no load generator, no uvicorn.

``create_app`` on a SQLite file, called directly as an ASGI app, one request at a time:
``GET /health`` (the efficiency base), ``GET /profiles/v2/me`` (opaque bearer),
``POST /oauth2/introspect`` (Basic + an opaque token of the same client),
``GET /gateway/decide`` (a warm token: its assertion cached) and ``POST /token`` with the
``client_credentials`` grant (its write in the process's group commit). Prints the best of several
rounds and each route's ratio to ``/health`` (an upper bound for the efficiency the full
benchmark measures through uvicorn, whose own share is the same for every route). With
``--profile ROUTE`` it runs that route under cProfile and prints the top functions instead.

Used for the A/B figures in bench/NOTES.md (items 20-21): the same machine, the same minute,
other programs cannot skew a process's own CPU time much.

    .venv/bin/python -m bench.hot_inprocess [--rounds 5] [--calls 2000] [--profile introspect]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import cProfile
import json
import os
import pstats
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.ops_inprocess import _caller, _prepare

BACKEND = ("--backend", "http://127.0.0.1:9")  # never called: the decision only names it
FORM = (b"content-type", b"application/x-www-form-urlencoded")
JWT_HOST = b"localhost:8000"  # the second tenant, which issues RFC 9068 JWT access tokens
# The routes ``_setup`` prepares a request for (bench/instructions.py counts the same ones).
ROUTES = ("health", "me", "me_jwt", "introspect", "decide", "client_credentials")


def _basic(user: str, password: str) -> bytes:
    return b"Basic " + base64.b64encode(f"{user}:{password}".encode())


async def _setup(call) -> dict[str, tuple]:
    """A client subscribed to Profiles and Echo, an opaque token: each route's request."""
    made = await call(
        "POST",
        "/clients/v2",
        b"clientName=bench",
        ((b"authorization", _basic("bench", "bench-pw")), FORM),
    )
    client = json.loads(made[1]["body"])["result"]
    client_basic = _basic(client["consumerKey"], client["consumerSecret"])
    got = await call(
        "POST", "/token", b"grant_type=client_credentials", ((b"authorization", client_basic), FORM)
    )
    token = json.loads(got[1]["body"])["access_token"]
    bearer = (b"authorization", b"Bearer " + token.encode())
    decide = (
        bearer,
        (b"x-original-method", b"GET"),
        (b"x-original-uri", b"/echo/v2/hello"),
        (b"x-agave-api", b"/echo/v2"),
    )
    jwt_user = ((b"host", JWT_HOST), (b"authorization", _basic("bench", "bench-pw")), FORM)
    got = await call(
        "POST",
        "/token",
        b"grant_type=password&username=bench&password=bench-pw&scope=PRODUCTION",
        ((b"host", JWT_HOST), (b"authorization", await _client_basic(call, jwt_user)), FORM),
    )
    jwt = json.loads(got[1]["body"])["access_token"]
    if jwt.count(".") != 2:
        raise SystemExit("the JWT tenant answered a token that is not a JWT")
    return {
        "health": ("GET", "/health", b"", ()),
        "me": ("GET", "/profiles/v2/me", b"", (bearer,)),
        "me_jwt": (
            "GET",
            "/profiles/v2/me",
            b"",
            ((b"host", JWT_HOST), (b"authorization", b"Bearer " + jwt.encode())),
        ),
        "introspect": (
            "POST",
            "/oauth2/introspect",
            b"token=" + token.encode(),
            ((b"authorization", client_basic), FORM),
        ),
        "decide": ("GET", "/gateway/decide", b"", decide),
        "client_credentials": (
            "POST",
            "/token",
            b"grant_type=client_credentials",
            ((b"authorization", client_basic), FORM),
        ),
    }


async def _client_basic(call, user_headers: tuple) -> bytes:
    made = await call("POST", "/clients/v2", b"clientName=bench", user_headers)
    client = json.loads(made[1]["body"])["result"]
    return _basic(client["consumerKey"], client["consumerSecret"])


async def _check(call, requests: dict[str, tuple]) -> None:
    for name, (method, path, body, headers) in requests.items():
        status = (await call(method, path, body, headers))[0]["status"]
        if status != 200:
            raise SystemExit(f"{name}: {method} {path} answered {status}, not 200")


async def _measure(rounds: int, calls: int, profile: str | None) -> None:
    from agave_server.app import create_app

    app = create_app()
    call = _caller(app)
    async with app.router.lifespan_context(app):
        requests = await _setup(call)
        await _check(call, requests)
        if profile:
            method, path, body, headers = requests[profile]
            profiler = cProfile.Profile()
            profiler.enable()
            for _ in range(calls):
                await call(method, path, body, headers)
            profiler.disable()
            pstats.Stats(profiler).sort_stats(
                os.environ.get("AGAVE_PROFILE_SORT", "cumulative")
            ).print_stats(45)
            return
        best: dict[str, float] = {}
        for _ in range(rounds):
            for name, (method, path, body, headers) in requests.items():
                start = time.process_time()
                for _ in range(calls):
                    await call(method, path, body, headers)
                per = (time.process_time() - start) / calls
                best[name] = min(best.get(name, per), per)
    base = best["health"]
    for name, per in best.items():
        print(f"{name:<18} {per * 1e6:7.1f} us CPU/request   /health ÷ this {base / per:5.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument(
        "--profile",
        choices=ROUTES,
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="hot-inprocess-") as tmp:
        _prepare(Path(tmp))
        _add_echo_api_and_jwt_tenant()
        asyncio.run(_measure(args.rounds, args.calls, args.profile))


def _add_echo_api_and_jwt_tenant() -> None:
    """The Echo API behind the gateway, subscribed by new clients (as the gateway tests), and
    a second tenant, on another host name, whose access tokens are JWTs."""
    admin = str(Path(sys.executable).with_name("agave-server"))
    for args in (
        ["apis", "add", "Echo", "--tenant", "sd2e", "--default", *BACKEND],
        ["tenants", "add", "jwt", "--name", "J", "--base-url", "http://localhost:8000/"],
        ["tenants", "update", "jwt", "--access-token-format", "jwt"],
        ["users", "add", "bench", "--tenant", "jwt", "--password-stdin"],
    ):
        subprocess.run([admin, *args], input=b"bench-pw\n", check=True, capture_output=True)


if __name__ == "__main__":
    main()
