"""What the observability middleware costs, in one process, without the noise of the network.

Two apps built by ``create_app`` on one SQLite file, one with the ``Observe`` middleware and
one without (everything else equal), called directly as ASGI apps, in alternating rounds:
``GET /health`` one at a time, ``POST /token`` (client_credentials) 16 at a time so that group
commit batches them as under load. Prints the CPU time per request, the best of six rounds.

    .venv/bin/python -m bench.ops_inprocess
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROUNDS = 6
HEALTH_CALLS = 3000
TOKEN_BATCHES = 50
CONCURRENCY = 16
HOST = b"127.0.0.1:8000"


def _prepare(folder: Path) -> None:
    """A database with a tenant and a user, and the environment for ``create_app``."""
    os.environ.update(
        {
            "AGAVE_SERVER_DB": f"sqlite:///{folder / 'agave.db'}",
            "AGAVE_SERVER_DATA_DIR": str(folder),
            "AGAVE_SERVER_ARGON2_TIME_COST": "1",
            "AGAVE_SERVER_ARGON2_MEMORY_KIB": "8192",
            "AGAVE_SERVER_ARGON2_PARALLELISM": "1",
            "AGAVE_SERVER_PURGE_INTERVAL": "0",
            "PROMETHEUS_MULTIPROC_DIR": str(folder / "metrics"),  # as under `serve`
        }
    )
    (folder / "metrics").mkdir()
    admin = str(Path(sys.executable).with_name("agave-server"))
    base = "http://127.0.0.1:8000/"
    subprocess.run([admin, "migrate"], check=True, capture_output=True)
    subprocess.run(
        [admin, "tenants", "add", "sd2e", "--name", "T", "--base-url", base],
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [admin, "users", "add", "bench", "--tenant", "sd2e", "--password-stdin"],
        input=b"bench-pw\n",
        check=True,
        capture_output=True,
    )


def _caller(app):
    async def call(method: str, path: str, body: bytes = b"", headers: tuple = ()) -> list:
        messages: list = []
        delivered = False

        async def receive() -> dict:
            nonlocal delivered
            if not delivered:
                delivered = True
                return {"type": "http.request", "body": body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            messages.append(message)

        scope = {
            "type": "http",
            "asgi": {"version": "3.0"},
            "http_version": "1.1",
            "method": method,
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "query_string": b"",
            "root_path": "",
            # A ``host`` among the headers picks another tenant; a body has its length, as
            # every HTTP/1.1 client sends it (without it BodyLimit buffers and replays).
            "headers": (
                list(headers)
                if any(name == b"host" for name, _ in headers)
                else [(b"host", HOST), *headers]
            )
            + ([(b"content-length", str(len(body)).encode())] if body else []),
            "client": ("127.0.0.1", 50000),
            "server": ("127.0.0.1", 8000),
        }
        await app(scope, receive, send)
        return messages

    return call


async def _measure() -> None:
    from agave_server.api.observability import Observe
    from agave_server.app import create_app

    with_observe = create_app()
    without = create_app()
    without.user_middleware = [m for m in without.user_middleware if m.cls is not Observe]
    calls = {"with Observe": _caller(with_observe), "without": _caller(without)}
    form = [(b"content-type", b"application/x-www-form-urlencoded")]
    async with (
        with_observe.router.lifespan_context(with_observe),
        without.router.lifespan_context(without),
    ):
        user = b"Basic " + base64.b64encode(b"bench:bench-pw")
        made = await calls["without"](
            "POST", "/clients/v2", b"clientName=bench", ((b"authorization", user), *form)
        )
        client = json.loads(made[1]["body"])["result"]
        secret = f"{client['consumerKey']}:{client['consumerSecret']}".encode()
        token_headers = ((b"authorization", b"Basic " + base64.b64encode(secret)), *form)
        results: dict[str, dict[str, list[float]]] = {k: {"health": [], "token": []} for k in calls}
        for _ in range(ROUNDS):
            for name, call in calls.items():
                start = time.process_time()
                for _ in range(HEALTH_CALLS):
                    await call("GET", "/health")
                results[name]["health"].append((time.process_time() - start) / HEALTH_CALLS)
                start = time.process_time()
                for _ in range(TOKEN_BATCHES):
                    body = b"grant_type=client_credentials"
                    batch = [
                        call("POST", "/token", body, token_headers) for _ in range(CONCURRENCY)
                    ]
                    await asyncio.gather(*batch)
                per = (time.process_time() - start) / (TOKEN_BATCHES * CONCURRENCY)
                results[name]["token"].append(per)
    for name, got in results.items():
        health, token = min(got["health"]) * 1e6, min(got["token"]) * 1e6
        print(f"{name:<13} GET /health {health:6.1f} us   POST /token {token:6.1f} us CPU/request")


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="ops-inprocess-") as tmp:
        _prepare(Path(tmp))
        asyncio.run(_measure())


if __name__ == "__main__":
    main()
