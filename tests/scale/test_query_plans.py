"""The hot queries use indexes (PostgreSQL): their plans are read with EXPLAIN.

The statements are not copied here: the server's own storage functions run against a
populated database while a listener records the SQL they send, and each recorded statement is
then EXPLAINed with its parameters. Tables hold tens of thousands of rows and are ANALYZEd, so
the planner would choose a sequential scan if no index served the query.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from agave_server.storage import Database
from agave_server.storage import clients as client_store
from agave_server.storage import tokens as token_store
from agave_server.storage import users as user_store
from tests.scale.conftest import seeded_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("AGAVE_TEST_DATABASE_URL"), reason="needs AGAVE_TEST_DATABASE_URL"
    ),
]
USERS, CLIENTS_PER_USER, TOKENS = 2000, 10, 60000
BIG_TABLES = {"tokens", "clients", "users", "subscriptions"}

POPULATE = [
    "INSERT INTO tenants (uuid, code, name, base_url, host, created_at) "
    "VALUES ('t-1', 'sd2e', 'SD2E', 'http://x.example.org/', 'x.example.org', 0)",
    "INSERT INTO apis (tenant_id, name, version, provider, context, is_default, created_at) "
    "SELECT 1, n, 'v2', 'admin', '/' || lower(n) || '/v2', true, 0 "
    "FROM unnest(ARRAY['Apps','Files','Jobs','Meta','Profiles']) AS n",
    f"INSERT INTO users (tenant_id, username, password_hash, created_at) "
    f"SELECT 1, 'user' || i, 'x', 0 FROM generate_series(1, {USERS}) AS i",
    "INSERT INTO clients (tenant_id, user_id, name, consumer_key, secret_digest, tier, "
    "created_at) "
    f"SELECT 1, 1 + mod(i, {USERS}), 'c' || i, 'key' || i, md5(i::text), 'Unlimited', 0 "
    f"FROM generate_series(1, {USERS * CLIENTS_PER_USER}) AS i",
    "INSERT INTO subscriptions (client_id, api_id, tier, created_at) "
    "SELECT c.id, a.id, 'Unlimited', 0 FROM clients c CROSS JOIN apis a",
    f"INSERT INTO tokens (tenant_id, client_id, user_id, grant_type, scope, access_digest, "
    f"refresh_digest, issued_at, access_expires_at, refresh_expires_at, family_id) "
    f"SELECT 1, 1 + mod(i, {USERS * CLIENTS_PER_USER}), 1 + mod(i, {USERS}), "
    "'password', 'PRODUCTION', "
    f"encode(sha256(('a' || i)::bytea), 'hex'), encode(sha256(('r' || i)::bytea), 'hex'), "
    f"0, 4000000000, 4000000000, md5(i::text) FROM generate_series(1, {TOKENS}) AS i",
]


@pytest.fixture(scope="module")
def db() -> Iterator[Database]:
    with seeded_postgres(POPULATE) as database:
        with database.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("ANALYZE")
        yield database


def _recorded(db: Database, action: Callable[[], Any]) -> list[tuple[str, Any]]:
    """The SQL statements (with parameters) that ``action`` sends through ``db``."""
    seen: list[tuple[str, Any]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith(("SELECT", "UPDATE", "DELETE", "WITH")):
            seen.append((statement, parameters))

    def record_driver(statement, parameters) -> None:  # the hot paths' prepared statements
        record(None, None, statement, parameters, None, False)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    db.statement_hook = record_driver
    try:
        action()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)
        db.statement_hook = None
    assert seen, "the storage function sent no query"
    return seen


def _plan_nodes(plan: dict) -> Iterator[dict]:
    yield plan
    for child in plan.get("Plans", []):
        yield from _plan_nodes(child)


def _explain(db: Database, statement: str, parameters: Any) -> list[dict]:
    with db.engine.connect() as conn:
        (plan,) = conn.exec_driver_sql("EXPLAIN (FORMAT JSON) " + statement, parameters).one()
        conn.rollback()
    return list(_plan_nodes(plan[0]["Plan"]))


def _assert_indexed(db: Database, action: Callable[[], Any], table: str, index: str | None):
    for statement, parameters in _recorded(db, action):
        nodes = _explain(db, statement, parameters)
        seq = [
            n["Relation Name"]
            for n in nodes
            if n["Node Type"] == "Seq Scan" and n.get("Relation Name") in BIG_TABLES
        ]
        assert not seq, f"sequential scan of {seq} in:\n{statement}"
        used = {
            n.get("Index Name")
            for n in nodes
            if "Index" in n["Node Type"] and n.get("Relation Name", table) == table
        }
        assert used - {None}, f"no index used on {table} in:\n{statement}\n{nodes}"
        if index is not None:
            assert index in used, f"expected {index} on {table}, planner used {used}"


def _digest(prefix: str, i: int) -> str:
    import hashlib

    return hashlib.sha256(f"{prefix}{i}".encode()).hexdigest()


def test_bearer_token_lookup_uses_access_digest_index(db: Database):
    _assert_indexed(
        db,
        lambda: token_store.bearer_grant(db, 1, _digest("a", 4242)),
        "tokens",
        "uq_tokens_access_digest",
    )


def test_refresh_token_lookup_and_claim_use_refresh_digest_index(db: Database):
    _assert_indexed(
        db,
        lambda: token_store.find_by_refresh(db, 1, _digest("r", 77)),
        "tokens",
        "uq_tokens_refresh_digest",
    )

    def rotate() -> None:
        successor = token_store.NewPair(
            tenant_id=1,
            client_id=1,
            user_id=1,
            grant_type="refresh_token",
            scope="default",
            access_digest=_digest("a-new", 78),
            refresh_digest=_digest("r-new", 78),
            access_lifetime=3600,
            refresh_lifetime=86400,
            family_id="f78",
            parent_digest=_digest("r", 78),
        )
        token_store.save_pair(db, successor)

    _assert_indexed(db, rotate, "tokens", "uq_tokens_refresh_digest")


def test_revocation_lookup_uses_digest_indexes(db: Database):
    _assert_indexed(
        db, lambda: token_store.find_by_digest(db, 1, _digest("r", 5), None), "tokens", None
    )


def test_client_lookup_by_key_uses_consumer_key_index(db: Database):
    _assert_indexed(
        db,
        lambda: client_store.get_client_with_owner(db, 1, "key1234"),
        "clients",
        "uq_clients_consumer_key",
    )


@pytest.mark.parametrize("offset", [0, 5])
def test_clients_list_by_owner_pages_on_an_index(db: Database, offset: int):
    _assert_indexed(
        db,
        lambda: client_store.list_clients(db, 17, limit=3, offset=offset),
        "clients",
        "ix_clients_user_id_id",
    )


def test_user_lookup_by_name_uses_index(db: Database):
    _assert_indexed(db, lambda: user_store.get_user(db, 1, "user99"), "users", None)


def test_subscriptions_of_a_client_use_primary_key(db: Database):
    _assert_indexed(db, lambda: client_store.list_subscriptions(db, 123), "subscriptions", None)


def test_introspection_reads_client_and_pair_on_indexes(db: Database):
    """Introspection's one statement: the client by its key, the token by its digest."""
    from agave_server.storage import introspection as introspection_store

    def read() -> None:
        found = introspection_store.client_and_access_pair(
            db, 1, "key1234", ("client:1:key1234", "addr:127.0.0.1"), _digest("a", 4242)
        )
        assert found is not None and found.pair is not None

    _assert_indexed(db, read, "tokens", "uq_tokens_access_digest")
    _assert_indexed(db, read, "clients", "uq_clients_consumer_key")


def test_batched_bearer_look_ups_probe_the_access_digest_index(db: Database):
    """The batched query (``storage.lookups``): each key is one probe, never a scan."""
    import asyncio

    from agave_server.storage.lookups import LookupBatcher

    async def batch() -> None:
        batcher = LookupBatcher(db)
        found = await asyncio.gather(
            *(token_store.bearer_grant_batched(batcher, 1, _digest("a", i)) for i in range(40))
        )
        assert sum(grant is not None for grant in found) == 39  # there is no a0
        assert batcher.queries == 1

    _assert_indexed(db, lambda: asyncio.run(batch()), "tokens", "uq_tokens_access_digest")


def test_batched_gateway_look_ups_probe_the_access_digest_index(db: Database):
    import asyncio

    from agave_server.storage import gateway as gateway_store
    from agave_server.storage.lookups import LookupBatcher

    async def batch() -> None:
        batcher = LookupBatcher(db)
        found = await asyncio.gather(
            *(
                gateway_store.token_access_batched(batcher, 1, _digest("a", i), 3)
                for i in range(1, 30)
            )
        )
        assert all(access is not None and access.client.subscription_tier for access in found)

    _assert_indexed(db, lambda: asyncio.run(batch()), "tokens", "uq_tokens_access_digest")
