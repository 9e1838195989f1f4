"""Bulk data for the scale scenarios: many clients for one user, many refresh tokens.

Minting 100,000 clients through ``POST /clients/v2`` would cost 100,000 argon2
checks; the benchmark needs the data, not the path to it. Until the server's
storage layer offers a bulk path these helpers go over HTTP (bounded counts),
which is slow but always realistic.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from bench.load import Load, LoadGenerator


def clients_over_http(url: str, username: str, password: str, names: list[str]) -> None:
    """Create ``names`` as the user's clients, a few requests at a time."""

    def create(name: str) -> None:
        resp = httpx.post(f"{url}/clients/v2", auth=(username, password),
                          data={"clientName": name, "description": f"bench client {name}"},
                          timeout=60)
        if resp.status_code != 201:
            raise RuntimeError(f"creating {name}: {resp.status_code} {resp.text[:200]}")

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(create, names))


def refresh_bodies_over_http(gen: LoadGenerator, url: str, client_basic: str, username: str,
                             password: str, count: int, out: Path) -> int:
    """``count`` one-shot refresh-grant bodies minted by password grants (one argon2 each)."""
    return gen.save_field(
        Load(f"{url}/token", basic=client_basic,
             form={"grant_type": "password", "username": username, "password": password,
                   "scope": "PRODUCTION"}),
        field_name="refresh_token", count=count, out=out,
        fmt="grant_type=refresh_token&refresh_token={}&scope=PRODUCTION",
    )


HTTP_REFRESH_CAP = 2000


def refresh_bodies(server, gen: LoadGenerator, count: int, out: Path) -> int:
    """Write ``count`` refresh-grant bodies for the server's benchmark user and client."""
    return refresh_bodies_over_http(gen, server.url, server.client_basic, server.username,
                                    server.password, min(count, HTTP_REFRESH_CAP), out)


def clients(server, username: str, password: str, count: int) -> None:
    """Give ``username`` exactly ``count`` clients."""
    clients_over_http(server.url, username, password,
                      [f"{username}-c{i:06d}" for i in range(count)])


def client_names(server, username: str, password: str, limit: int = 3) -> list[str]:
    """A few of the user's client names, read back over HTTP (the CLI outputs must show them)."""
    resp = httpx.get(f"{server.url}/clients/v2", auth=(username, password),
                     params={"limit": limit}, timeout=60)
    resp.raise_for_status()
    return [c["name"] for c in resp.json()["result"]][:limit]
