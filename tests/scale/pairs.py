"""Token pairs for the PostgreSQL write tests: one tenant, one user, one client, and pairs
named by a word (``a-<name>`` and ``r-<name>`` hashed are the access and refresh digests)."""

from __future__ import annotations

import hashlib

from agave_server.storage import tokens as token_store

ONE_CLIENT = [
    "INSERT INTO tenants (uuid, code, name, base_url, host, created_at) "
    "VALUES ('t-1', 'sd2e', 'SD2E', 'http://x.example.org/', 'x.example.org', 0)",
    "INSERT INTO users (tenant_id, username, password_hash, created_at) "
    "VALUES (1, 'alice', 'x', 0)",
    "INSERT INTO clients (tenant_id, user_id, name, consumer_key, secret_digest, tier, "
    "created_at) VALUES (1, 1, 'c', 'key', 'x', 'Unlimited', 0)",
]


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def new_pair(
    name: str, parent: str | None = None, access: str | None = None, client_id: int = 1
) -> token_store.NewPair:
    """Pair ``name``; with ``parent``, the rotation of that pair's refresh token."""
    return token_store.NewPair(
        tenant_id=1,
        client_id=client_id,
        user_id=1,
        grant_type="refresh_token" if parent else "password",
        scope="PRODUCTION",
        access_digest=digest(access or f"a-{name}"),
        refresh_digest=digest(f"r-{name}"),
        access_lifetime=3600,
        refresh_lifetime=86400,
        family_id="family-" + (parent or name),
        parent_digest=digest(f"r-{parent}") if parent else None,
    )
