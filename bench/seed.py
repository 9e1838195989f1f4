"""Bulk data for the scale scenarios: many clients for one user, many refresh tokens.

Minting 100,000 clients through ``POST /clients/v2`` would cost 100,000 argon2
checks; the benchmark needs the data, not the path to it. So the rows go in
through the server's own schema (``agave_server.models``) and its own secret
and digest functions (``agave_server.security``): fresh random consumer keys
and secrets, stored as the server stores them (SHA-256 digests), every client
subscribed to every default API as ``POST /clients/v2`` would. Refresh tokens
are cloned from one pair the server issued itself over HTTP (same grant type,
scope, lifetimes), each with its own random tokens and family.
"""

from __future__ import annotations

import urllib.parse
from pathlib import Path

import httpx
from sqlalchemy import insert, literal, select

BATCH = 5_000


def _db(url: str):
    from agave_server.storage.database import Database

    return Database(url)


def _user_ids(conn, username: str, tenant: str) -> tuple[int, int]:
    from agave_server.models import tenants, users

    row = conn.execute(
        select(users.c.id, users.c.tenant_id)
        .join(tenants, tenants.c.id == users.c.tenant_id)
        .where(users.c.username == username, tenants.c.code == tenant)
    ).one()
    return row.id, row.tenant_id


def clients(server, username: str, password: str, count: int) -> None:
    """Give ``username`` ``count`` clients, subscribed like ``POST /clients/v2`` would."""
    from agave_server.models import apis, subscriptions
    from agave_server.models import clients as clients_t
    from agave_server.security import digest, new_consumer_key, new_secret
    from agave_server.storage.database import now

    db = _db(server.db_url)
    try:
        with db.read() as conn:
            user_id, tenant_id = _user_ids(conn, username, server.tenant)
        created = now()
        for start in range(0, count, BATCH):
            rows = [
                {
                    "tenant_id": tenant_id,
                    "user_id": user_id,
                    "name": f"{username}-c{i:06d}",
                    "description": f"benchmark client {i}",
                    "consumer_key": new_consumer_key(),
                    "secret_digest": digest(new_secret()),
                    "tier": "Unlimited",
                    "callback_url": "",
                    "created_at": created,
                }
                for i in range(start, min(count, start + BATCH))
            ]
            with db.write() as conn:
                conn.execute(insert(clients_t), rows)
        mine = (
            select(clients_t.c.id, apis.c.id, clients_t.c.tier, literal(created))
            .select_from(clients_t.join(apis, apis.c.tenant_id == clients_t.c.tenant_id))
            .where(clients_t.c.user_id == user_id, apis.c.is_default.is_(True))
        )
        with db.write() as conn:
            conn.execute(
                insert(subscriptions).from_select(
                    ["client_id", "api_id", "tier", "created_at"], mine
                )
            )
    finally:
        db.dispose()


def refresh_bodies(server, count: int, out: Path) -> int:
    """Write ``count`` refresh-grant bodies, each a distinct live refresh token of the bench client.

    One password grant over HTTP gives the template row; the clones differ in
    their tokens (new random secrets, stored as digests) and family.
    """
    from agave_server.models import tokens
    from agave_server.security import digest, new_family_id, new_secret

    template_pair = server.password_grant()
    db = _db(server.db_url)
    lines = []
    try:
        with db.read() as conn:
            template = (
                conn.execute(
                    select(tokens).where(
                        tokens.c.refresh_digest == digest(template_pair["refresh_token"])
                    )
                )
                .one()
                ._mapping
            )
        keep = {k: v for k, v in template.items() if k not in ("id", "parent_id")}
        for start in range(0, count, BATCH):
            rows = []
            for _ in range(min(BATCH, count - start)):
                refresh = new_secret()
                rows.append(
                    {
                        **keep,
                        "access_digest": digest(new_secret()),
                        "refresh_digest": digest(refresh),
                        "family_id": new_family_id(),
                        "parent_id": None,
                    }
                )
                lines.append(
                    f"grant_type=refresh_token&refresh_token="
                    f"{urllib.parse.quote_plus(refresh)}&scope=PRODUCTION\n"
                )
            with db.write() as conn:
                conn.execute(insert(tokens), rows)
    finally:
        db.dispose()
    out.write_text("".join(lines))
    return len(lines)


def client_names(server, username: str, password: str, limit: int = 3) -> list[str]:
    """A few of the user's client names, read back over HTTP (the CLI outputs must show them)."""
    resp = httpx.get(
        f"{server.url}/clients/v2", auth=(username, password), params={"limit": limit}, timeout=60
    )
    resp.raise_for_status()
    return [c["name"] for c in resp.json()["result"]][:limit]
