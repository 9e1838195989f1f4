"""PostgreSQL's batched token writes (``storage.pair_writes``): the pairs of many token
grants in one statement, with each grant's answer what ``tokens.save_pair`` would give it.

New pairs are stored together; of two rotations of one refresh token in one batch exactly
one wins; a rotation of a revoked, rotated or expired refresh token stores nothing; a pair
that breaks a constraint fails alone, its batch-mates stored.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from agave_server.storage import Database
from agave_server.storage import tokens as token_store
from agave_server.storage.pair_writes import PairWriter
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


def _submit_all(writer: PairWriter, pairs: list[token_store.NewPair]) -> list:
    async def run() -> list:
        futures = [writer.submit(pair) for pair in pairs]
        return await asyncio.gather(*futures, return_exceptions=True)

    return asyncio.run(run())


def _row(db: Database, name: str):
    with db.read() as conn:
        return conn.execute(
            sa.text("SELECT rotated_at, revoked_at FROM tokens WHERE access_digest = :d"),
            {"d": _digest(f"a-{name}")},
        ).first()


def test_new_pairs_of_one_turn_are_one_statement(db: Database):
    writer = PairWriter(db)
    names = [f"new{i}" for i in range(20)]
    assert _submit_all(writer, [_pair(name) for name in names]) == [True] * 20
    assert (writer.pairs, writer.statements) == (20, 1)
    assert all(_row(db, name) == (None, None) for name in names)


def test_of_two_rotations_of_one_token_in_a_batch_exactly_one_wins(db: Database):
    writer = PairWriter(db)
    _submit_all(writer, [_pair("p1"), _pair("p2")])
    results = _submit_all(writer, [_pair("p1-a", "p1"), _pair("p1-b", "p1"), _pair("p2-a", "p2")])
    assert sorted(results[:2]) == [False, True] and results[2] is True
    winner = "p1-a" if results[0] else "p1-b"
    loser = "p1-b" if results[0] else "p1-a"
    assert _row(db, winner) == (None, None) and _row(db, loser) is None
    assert _row(db, "p1")[0] is not None and _row(db, "p2")[0] is not None  # parents rotated
    assert writer.statements == 2  # the two new pairs, then the three rotations


def test_a_dead_parent_is_not_rotated(db: Database):
    writer = PairWriter(db)
    _submit_all(writer, [_pair("dead"), _pair("used")])
    with db.write() as conn:
        conn.execute(
            sa.text("UPDATE tokens SET revoked_at = 1 WHERE access_digest = :d"),
            {"d": _digest("a-dead")},
        )
    assert _submit_all(writer, [_pair("used-1", "used")]) == [True]
    results = _submit_all(
        writer,
        [_pair("dead-1", "dead"), _pair("used-2", "used"), _pair("never-1", "never")],
    )
    assert results == [False, False, False]
    assert all(_row(db, name) is None for name in ("dead-1", "used-2", "never-1"))


def test_a_pair_that_breaks_a_constraint_fails_alone(db: Database):
    writer = PairWriter(db)
    good, orphan = _pair("good"), _pair("orphan", client_id=999)  # no client 999
    results = _submit_all(writer, [good, orphan, _pair("good-2")])
    assert results[0] is True and results[2] is True
    assert isinstance(results[1], IntegrityError)
    assert writer.retried_alone == 3
    assert _row(db, "good") is not None and _row(db, "orphan") is None


def test_a_value_too_long_is_refused_not_cut_short(db: Database):
    import dataclasses

    writer = PairWriter(db)
    long_scope = dataclasses.replace(_pair("long"), scope="s" * 300)
    result, mate = _submit_all(writer, [long_scope, _pair("long-mate")])
    assert isinstance(result, sa.exc.DataError), result
    assert mate is True and _row(db, "long-mate") is not None
    assert _row(db, "long") is None


def test_sqlite_has_no_pair_writer(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(ValueError, match="PostgreSQL"):
            PairWriter(database)
    finally:
        database.dispose()
