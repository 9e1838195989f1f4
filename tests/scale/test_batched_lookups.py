"""PostgreSQL's batched look-ups (``storage.lookups``): many requests' bearer checks in one
query, each answered exactly as its own query would answer it.

The answers are compared with the single look-up's (``tokens.bearer_grant``,
``gateway.token_access``) for live, revoked, rotated, expired and unknown tokens, tokens of
another tenant and clients with and without the subscription asked for, all in one batch.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Iterator

import pytest

from agave_server.storage import Database
from agave_server.storage import gateway as gateway_store
from agave_server.storage import tokens as token_store
from agave_server.storage.lookups import MAX_BATCH, BatchedStatement, LookupBatcher
from tests.scale.conftest import seeded_postgres

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("AGAVE_TEST_DATABASE_URL"), reason="needs AGAVE_TEST_DATABASE_URL"
    ),
]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


# Tokens a0..a9: a0-a5 live, a6 revoked, a7 rotated, a8 expired, a9 of tenant 2. Clients 1
# (alice's, subscribed to Profiles) and 2 (bob's, subscribed to nothing) take turns.
SEED = [
    "INSERT INTO tenants (uuid, code, name, base_url, host, created_at) VALUES "
    "('t-1', 'sd2e', 'SD2E', 'http://x.example.org/', 'x.example.org', 0), "
    "('t-2', 'other', 'Other', 'http://y.example.org/', 'y.example.org', 0)",
    "INSERT INTO apis (tenant_id, name, version, provider, context, is_default, created_at) "
    "VALUES (1, 'Profiles', 'v2', 'admin', '/profiles/v2', true, 0), "
    "(1, 'Files', 'v2', 'admin', '/files/v2', true, 0)",
    "INSERT INTO users (tenant_id, username, password_hash, email, created_at) VALUES "
    "(1, 'alice', 'x', 'alice@example.org', 0), (1, 'bob', 'x', 'bob@example.org', 0), "
    "(2, 'carol', 'x', 'carol@example.org', 0)",
    "INSERT INTO clients (tenant_id, user_id, name, consumer_key, secret_digest, tier, "
    "created_at) VALUES (1, 1, 'c1', 'key1', 'x', 'Unlimited', 0), "
    "(1, 2, 'c2', 'key2', 'x', 'Gold', 0), (2, 3, 'c3', 'key3', 'x', 'Unlimited', 0)",
    "INSERT INTO subscriptions (client_id, api_id, tier, created_at) VALUES (1, 1, 'Unlimited', 0)",
    "INSERT INTO tokens (tenant_id, client_id, user_id, grant_type, scope, access_digest, "
    "refresh_digest, issued_at, access_expires_at, refresh_expires_at, family_id, "
    "revoked_at, rotated_at) SELECT CASE WHEN i = 9 THEN 2 ELSE 1 END, "
    "CASE WHEN i = 9 THEN 3 ELSE 1 + mod(i, 2) END, CASE WHEN i = 9 THEN 3 ELSE 1 + mod(i, 2) "
    "END, 'password', 'PRODUCTION', encode(sha256(('a' || i)::bytea), 'hex'), "
    "encode(sha256(('r' || i)::bytea), 'hex'), 0, "
    "CASE WHEN i = 8 THEN 1 ELSE 4000000000 END, 4000000000, 'f' || i, "
    "CASE WHEN i = 6 THEN 5 END, CASE WHEN i = 7 THEN 5 END "
    "FROM generate_series(0, 9) AS i",
]
KEYS = [(tenant, f"a{i}") for i in range(10) for tenant in (1, 2)] + [(1, "unknown")]


@pytest.fixture(scope="module")
def db() -> Iterator[Database]:
    with seeded_postgres(SEED) as database:
        yield database


async def _gather(coroutines) -> list:
    return await asyncio.gather(*coroutines)


def test_bearer_answers_match_the_single_look_up(db: Database):
    batcher = LookupBatcher(db)
    asks = [(tenant, name, api) for tenant, name in KEYS for api in ("Profiles", "Files")]
    batched = asyncio.run(
        _gather(
            token_store.bearer_grant_batched(batcher, tenant, _digest(name), api)
            for tenant, name, api in asks
        )
    )
    single = [
        token_store.bearer_grant(db, tenant, _digest(name), api) for tenant, name, api in asks
    ]
    assert batched == single
    live = [grant for grant in single if grant is not None]
    # a0..a5 of tenant 1, a9 of tenant 2, each for two APIs; a6, a7, a8 and strangers: None
    assert len(live) == 14
    assert {grant.subscribed for grant in live} == {True, False}
    assert (batcher.lookups, batcher.queries) == (len(asks), 1)


def test_gateway_answers_match_the_single_look_up(db: Database):
    batcher = LookupBatcher(db)
    asks = [(tenant, name, api_id) for tenant, name in KEYS for api_id in (1, 2, 99)]
    batched = asyncio.run(
        _gather(
            gateway_store.token_access_batched(batcher, tenant, _digest(name), api_id)
            for tenant, name, api_id in asks
        )
    )
    single = [
        gateway_store.token_access(db, tenant, _digest(name), api_id)
        for tenant, name, api_id in asks
    ]
    assert batched == single
    assert sum(found is not None for found in single) == 21
    assert (batcher.lookups, batcher.queries) == (len(asks), 1)


def test_a_batch_larger_than_the_limit_is_split(db: Database):
    batcher = LookupBatcher(db)
    count = MAX_BATCH + 5
    found = asyncio.run(
        _gather(
            token_store.bearer_grant_batched(batcher, 1, _digest(f"a{i % 10}"))
            for i in range(count)
        )
    )
    assert sum(grant is not None for grant in found) == sum(i % 10 < 6 for i in range(count))
    assert (batcher.lookups, batcher.queries) == (count, 2)


def test_look_ups_in_separate_turns_make_separate_queries(db: Database):
    batcher = LookupBatcher(db)

    async def one_by_one() -> list:
        return [
            await token_store.bearer_grant_batched(batcher, 1, _digest(f"a{i}")) for i in (0, 1, 6)
        ]

    first, second, revoked = asyncio.run(one_by_one())
    assert first is not None and second is not None and revoked is None
    assert first.user.username == "alice" and second.user.username == "bob"
    assert batcher.queries == 3


def test_a_failing_query_fails_every_waiting_look_up_and_the_next_batch_works(db: Database):
    from sqlalchemy.exc import DBAPIError

    batcher = LookupBatcher(db)
    # PostgreSQL refuses the query (an array of a type it does not know).
    per_key = {"digest": "no_such_type", "tenant_id": "integer", "api": "text"}
    broken = BatchedStatement(token_store.BEARER_BATCHED.single, per_key, {"now": token_store.now})

    async def both() -> list:
        return await asyncio.gather(
            batcher.fetch_one(broken, digest=1, tenant_id=1, api="Profiles"),
            batcher.fetch_one(broken, digest=2, tenant_id=1, api="Profiles"),
            return_exceptions=True,
        )

    errors = asyncio.run(both())
    assert all(isinstance(err, DBAPIError) for err in errors), errors
    after = asyncio.run(_gather([token_store.bearer_grant_batched(batcher, 1, _digest("a0"))]))
    assert after[0] is not None and after[0].user.username == "alice"


def test_a_statement_without_the_named_parameter_is_refused(db: Database):
    wrong = BatchedStatement(token_store.BEARER_BATCHED.single, {"nonsense": "text"})
    with pytest.raises(ValueError, match="no parameter 'nonsense'"):
        wrong.sql(db)


def test_sqlite_has_no_batcher(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(ValueError, match="PostgreSQL"):
            LookupBatcher(database)
    finally:
        database.dispose()
