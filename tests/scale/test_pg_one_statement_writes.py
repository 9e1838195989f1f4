"""PostgreSQL's token writes as one statement each (``storage.tokens.save_pair``).

A rotation is the claim of the parent and the insert of its successor in one autocommit
statement: either both happen or neither does, a claimed parent cannot be claimed again, and
a connection lent in autocommit mode goes back to the pool in transaction mode.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from agave_server.storage import Database
from agave_server.storage import tokens as token_store
from tests.scale.conftest import seeded_postgres
from tests.scale.pairs import ONE_CLIENT
from tests.scale.pairs import digest as _digest
from tests.scale.pairs import new_pair as _pair

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("AGAVE_TEST_DATABASE_URL"), reason="needs AGAVE_TEST_DATABASE_URL"
    ),
]


@pytest.fixture(scope="module")
def db() -> Iterator[Database]:
    with seeded_postgres(ONE_CLIENT) as database:
        yield database


def _row(db: Database, name: str) -> dict | None:
    with db.engine.connect() as conn:
        row = conn.execute(
            sa.text("SELECT rotated_at, revoked_at FROM tokens WHERE refresh_digest = :d"),
            {"d": _digest(f"r-{name}")},
        ).first()
    return None if row is None else dict(row._mapping)


def test_a_rotation_claims_the_parent_and_stores_the_successor(db: Database):
    assert token_store.save_pair(db, _pair("p1"))
    assert token_store.save_pair(db, _pair("p1-next", parent="p1"))
    assert _row(db, "p1")["rotated_at"] is not None
    assert _row(db, "p1-next") == {"rotated_at": None, "revoked_at": None}


def test_a_claimed_parent_is_not_claimed_again(db: Database):
    assert token_store.save_pair(db, _pair("p2"))
    assert token_store.save_pair(db, _pair("p2-a", parent="p2"))
    assert not token_store.save_pair(db, _pair("p2-b", parent="p2"))
    assert _row(db, "p2-b") is None


def test_an_unknown_parent_stores_nothing(db: Database):
    assert not token_store.save_pair(db, _pair("orphan", parent="never-issued"))
    assert _row(db, "orphan") is None


def test_a_failed_insert_leaves_the_parent_unclaimed(db: Database):
    """The successor's access digest collides: the statement fails as a whole, so the
    parent stays live (a transaction's savepoint gave the same guarantee before)."""
    assert token_store.save_pair(db, _pair("p3"))
    assert token_store.save_pair(db, _pair("taken"))
    with pytest.raises(sa.exc.IntegrityError):
        token_store.save_pair(db, _pair("p3-next", parent="p3", access="a-taken"))
    assert _row(db, "p3") == {"rotated_at": None, "revoked_at": None}
    assert _row(db, "p3-next") is None
    assert token_store.save_pair(db, _pair("p3-retry", parent="p3"))


def test_connections_return_to_the_pool_in_transaction_mode(db: Database):
    """A pooled read or one-statement write that raised must not leave its connection in
    autocommit mode for the next write transaction."""
    for block in (db.driver, db.one_statement_write):
        with pytest.raises(sa.exc.ProgrammingError), block() as conn:
            conn.execute("SELECT no_such_column FROM tokens")
    fairies = [db.engine.raw_connection() for _ in range(db.engine.pool.size())]
    try:
        assert all(not f.driver_connection.autocommit for f in fairies)
    finally:
        for fairy in fairies:
            fairy.close()
