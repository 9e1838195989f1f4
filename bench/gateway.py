"""The gateway scenarios: nginx with ``auth_request`` to our decision, in front of a trivial
backend, beside the same backend through nginx without auth, and the decision asked directly.

- ``gateway_warm``: ``GET /bench/v2/x`` through the generated nginx.conf with a token whose
  assertion is cached (the steady state of a busy client);
- ``nginx_noauth``: the same request through a plain nginx ``proxy_pass`` to the backend;
- ``decide_warm``: ``GET /gateway/decide`` on our server, with the headers nginx sends;
- first call of a fresh token (its assertion is signed then), against warm calls, both at
  concurrency 1: latency, not throughput.
"""

from __future__ import annotations

import statistics
import time
from pathlib import Path

import httpx
from tests.support.nginx import NginxProcess, nginx_binary

from bench.bare import BareServer
from bench.load import Load
from bench.ours import TENANT, OurServer
from bench.procs import free_port

API = "Bench"
CONTEXT = "/bench/v2"

PLAIN_NGINX = """
worker_processes 1;
pid nginx.pid;
error_log error.log warn;
events {{ worker_connections 1024; }}
http {{
    access_log off;
    client_body_temp_path client_body_temp;
    proxy_temp_path proxy_temp;
    fastcgi_temp_path fastcgi_temp;
    uwsgi_temp_path uwsgi_temp;
    scgi_temp_path scgi_temp;
    upstream backend {{ server {backend}; keepalive 64; }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://backend;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header Authorization "";
        }}
    }}
}}
"""


class GatewaySetup:
    """The backend, our nginx.conf (one worker, no access log: as the plain one) and a plain
    nginx, all on loopback; stopped by pid."""

    def __init__(self, ours: OurServer, workdir: Path) -> None:
        self.ours = ours
        self.workdir = workdir
        self.backend = BareServer(1, workdir / "backend.log", "bench.backend_app:app", "/x")
        self.gateway: NginxProcess | None = None
        self.plain: NginxProcess | None = None

    @staticmethod
    def available() -> bool:
        return nginx_binary() is not None

    def start(self) -> None:
        self.backend.start()
        admin = self.ours.process.admin
        admin("apis", "add", API, "--tenant", TENANT, "--backend", self.backend.url)
        r = httpx.post(
            f"{self.ours.url}/clients/v2/bench-client/subscriptions",
            auth=(self.ours.username, self.ours.password),
            data={"apiName": API},
            timeout=60,
        )
        if r.status_code != 200:
            raise RuntimeError(f"subscribing to {API} answered {r.status_code}: {r.text[:200]}")
        port = free_port()
        config = admin(
            "gateway",
            "nginx-config",
            "--tenant",
            TENANT,
            "--listen",
            f"127.0.0.1:{port}",
            "--upstream",
            f"127.0.0.1:{self.ours.process.port}",
        ).stdout
        # Measured like the plain nginx: one worker, no access log.
        config = config.replace("worker_processes auto;", "worker_processes 1;")
        config = config.replace("    access_log access.log;", "    access_log off;")
        self.gateway = NginxProcess(self.workdir / "nginx-gateway", config, port).start()
        plain_port = free_port()
        backend = self.backend.url.removeprefix("http://")
        self.plain = NginxProcess(
            self.workdir / "nginx-plain",
            PLAIN_NGINX.format(backend=backend, port=plain_port),
            plain_port,
        ).start()

    def stop(self) -> None:
        for proc in (self.gateway, self.plain):
            if proc is not None:
                proc.stop()
        self.backend.stop()

    def token(self) -> str:
        return self.ours.password_grant()["access_token"]

    def fresh_tokens(self, n: int) -> list[str]:
        """``n`` new access tokens (client_credentials: no password hash per token)."""
        out = []
        with httpx.Client(timeout=60) as http:
            for _ in range(n):
                r = http.post(
                    f"{self.ours.url}/token",
                    data={"grant_type": "client_credentials"},
                    auth=(self.ours.consumer_key, self.ours.consumer_secret),
                )
                r.raise_for_status()
                out.append(r.json()["access_token"])
        return out

    def loads(self, token: str) -> dict[str, Load]:
        assert self.gateway is not None and self.plain is not None
        decide_headers = [
            "X-Original-Method: GET",
            f"X-Original-URI: {CONTEXT}/x",
            f"X-Agave-Api: {CONTEXT}",
            f"X-Agave-Tenant: {TENANT}",
        ]
        return {
            "gateway_warm": Load(f"{self.gateway.url}{CONTEXT}/x", bearer=token),
            "nginx_noauth": Load(f"{self.plain.url}{CONTEXT}/x", bearer=token),
            "decide_warm": Load(
                f"{self.ours.url}/gateway/decide", bearer=token, headers=decide_headers
            ),
        }

    def first_vs_warm(self, fresh: list[str]) -> dict:
        """p50/p90 of a fresh token's first call (it signs) and of warm calls, sequentially."""
        assert self.gateway is not None
        url = f"{self.gateway.url}{CONTEXT}/x"
        first, warm = [], []
        with httpx.Client(timeout=60) as http:
            for token in fresh:
                headers = {"Authorization": f"Bearer {token}"}
                t0 = time.perf_counter()
                r1 = http.get(url, headers=headers)
                t1 = time.perf_counter()
                r2 = http.get(url, headers=headers)
                t2 = time.perf_counter()
                if r1.status_code != 200 or r2.status_code != 200:
                    raise RuntimeError(f"gateway answered {r1.status_code}/{r2.status_code}")
                first.append((t1 - t0) * 1000)
                warm.append((t2 - t1) * 1000)
        return {
            "calls": len(fresh),
            "first_p50_ms": statistics.median(first),
            "first_p90_ms": _p90(first),
            "warm_p50_ms": statistics.median(warm),
            "warm_p90_ms": _p90(warm),
        }


def _p90(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.9))]
