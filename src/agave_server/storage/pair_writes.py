"""Batched token writes on PostgreSQL: the pairs of many token grants in one statement.

What ``storage.batch`` (group commit) is to SQLite, this is to PostgreSQL. The token grants
that run on the event loop (``api/routes/token.py``) hand their new pair here; the pairs the
loop collects in one turn are stored when it comes round, in one autocommit statement for the
new pairs (``INSERT ... SELECT FROM unnest(...)``) and one for the rotations, whose claim of
each parent and insert of its successor stay one atomic statement as in ``tokens.save_pair``
(``UPDATE ... FROM`` the batch ``RETURNING`` what it claimed, then ``INSERT`` the successors
of exactly those). A parent asked for twice in one batch is claimed once: ``UPDATE ... FROM``
updates a row once, whichever of its matches it takes, so one successor is stored and the
other request loses the race, as it would across processes.

If a batch's statement fails (a client deleted meanwhile breaks the foreign key of its pairs),
nothing of it was stored, and each of its pairs is stored again alone (``tokens.save_pair``),
so that only the pair that breaks a constraint fails. Only when the database cannot be
reached (``OperationalError``) does every request of the batch get the error (a 503).
"""

from __future__ import annotations

import asyncio
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy.exc import DBAPIError, OperationalError

from ..models import tokens
from .database import Database, now
from .tokens import NEW_PAIR_COLUMNS, NewPair, new_pair_values, save_pair

MAX_BATCH = 256  # pairs per statement at most
_LENGTH = re.compile(r"\(\d+\)")  # VARCHAR(64) -> VARCHAR


def _types(db: Database) -> dict[str, str]:
    """Each pair column's PostgreSQL type, for the arrays ``unnest`` takes apart: without a
    length, since casting to ``VARCHAR(n)`` would cut a longer value short where the insert
    must refuse it, as the single insert does."""
    dialect = db.engine.dialect
    return {
        name: _LENGTH.sub("", tokens.c[name].type.compile(dialect=dialect))
        for name in NEW_PAIR_COLUMNS
    }


def _arrays(types: dict[str, str]) -> str:
    return ", ".join(f"%({name})s::{kind}[]" for name, kind in types.items())


def insert_sql(db: Database) -> str:
    names = ", ".join(NEW_PAIR_COLUMNS)
    return f"INSERT INTO tokens ({names}) SELECT * FROM unnest({_arrays(_types(db))})"


def rotate_sql(db: Database) -> str:
    types = {"parent_digest": "text", **_types(db)}
    names = ", ".join(NEW_PAIR_COLUMNS)
    picked = ", ".join(f"batch.{name}" for name in NEW_PAIR_COLUMNS)
    return (
        f"WITH batch AS (SELECT * FROM unnest({_arrays(types)}) WITH ORDINALITY "
        f"AS batch({', '.join(types)}, n)), "
        "claimed AS (UPDATE tokens SET rotated_at = %(now)s FROM batch "
        "WHERE tokens.refresh_digest = batch.parent_digest "
        "AND tokens.tenant_id = batch.tenant_id AND tokens.revoked_at IS NULL "
        "AND tokens.rotated_at IS NULL AND tokens.refresh_expires_at > %(now)s "
        "RETURNING batch.n) "
        f"INSERT INTO tokens ({names}) SELECT {picked} FROM batch JOIN claimed "
        "ON claimed.n = batch.n RETURNING tokens.access_digest"
    )


Result = bool | BaseException  # what one pair's write came to


class PairWriter:
    """Collects new pairs from the event loop's coroutines and stores them in batches, one
    batch at a time, on a thread of its own.

    A write waits for PostgreSQL to flush its WAL; on the event loop that wait would stop
    every other request, so the statement runs on the writer thread while the loop serves
    on, collecting the next batch, which leaves as soon as the one in flight is done: the
    busier the server, the more pairs per statement (and per WAL flush).
    """

    def __init__(self, db: Database) -> None:
        if db.is_sqlite:
            raise ValueError("batched pair writes are for PostgreSQL; SQLite has group commit")
        self._db = db
        self._sql: tuple[str, str] | None = None
        self._pending: list[tuple[NewPair, asyncio.Future]] = []
        self._scheduled = False
        self._in_flight = False
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="agave-pair-writes")
        # What batching achieved (the tests and the benchmark's notes read these).
        self.pairs = 0
        self.statements = 0
        self.retried_alone = 0

    def submit(self, pair: NewPair) -> asyncio.Future:
        """A future of what ``tokens.save_pair`` would return for this pair: True when stored,
        False for a rotation whose parent was no longer live; it raises what the write raised
        (``IntegrityError`` for a client or user gone meanwhile)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((pair, future))
        if not self._scheduled and not self._in_flight:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        """Send what is pending to the writer thread (on the loop)."""
        self._scheduled = False
        if self._in_flight or not self._pending:
            return
        batch, self._pending = self._pending, []
        self._in_flight = True
        loop = asyncio.get_running_loop()
        work = loop.run_in_executor(self._thread, self._write, [pair for pair, _ in batch])
        work.add_done_callback(lambda done: self._finished(batch, done))

    def _finished(self, batch: list[tuple[NewPair, asyncio.Future]], done: asyncio.Future):
        """Hand each request its pair's result (on the loop), then send the next batch."""
        self._in_flight = False
        failed = done.exception() if not done.cancelled() else asyncio.CancelledError()
        results: list[Result] = [failed] * len(batch) if failed else done.result()
        for (_pair, future), result in zip(batch, results, strict=True):
            if future.done():  # a request that went away meanwhile
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
        self._flush()

    def close(self) -> None:
        self._thread.shutdown(wait=True)

    # -- on the writer thread ----------------------------------------------------------
    def _write(self, pairs: list[NewPair]) -> list[Result]:
        """Every pair's result: the new pairs in one statement, the rotations in another."""
        results: list[Result] = [True] * len(pairs)
        fresh = [i for i, pair in enumerate(pairs) if pair.parent_digest is None]
        rotations = [i for i, pair in enumerate(pairs) if pair.parent_digest is not None]
        for indexes, rotate in ((fresh, False), (rotations, True)):
            for start in range(0, len(indexes), MAX_BATCH):
                chunk = indexes[start : start + MAX_BATCH]
                stored = self._store([pairs[i] for i in chunk], rotate)
                for i, result in zip(chunk, stored, strict=True):
                    results[i] = result
        return results

    def _store(self, pairs: list[NewPair], rotate: bool) -> list[Result]:
        try:
            stored = self._statement(pairs, rotate)
        except OperationalError as err:  # the database is unreachable: a 503 for every one
            return [err] * len(pairs)
        except DBAPIError:  # one pair broke a constraint (or a column's limit): find which
            return self._alone(pairs)
        self.pairs += len(pairs)
        self.statements += 1
        return [stored is None or pair.access_digest in stored for pair in pairs]

    def _statement(self, pairs: list[NewPair], rotate: bool) -> set[str] | None:
        """Store the pairs in one statement; for rotations, the access digests of those
        stored (their parents were still live)."""
        db = self._db
        if self._sql is None:
            self._sql = (insert_sql(db), rotate_sql(db))
        issued = now()
        rows = [new_pair_values(pair, issued) for pair in pairs]
        args: dict[str, Any] = {name: [row[name] for row in rows] for name in NEW_PAIR_COLUMNS}
        if rotate:
            args["parent_digest"] = [pair.parent_digest for pair in pairs]
            args["now"] = issued
        sql = self._sql[1] if rotate else self._sql[0]
        if db.statement_hook is not None:
            db.statement_hook(sql, args)
        with db.one_statement_write() as conn:
            cursor = conn.execute(sql, args)
            return {row[0] for row in cursor.fetchall()} if rotate else None

    def _alone(self, pairs: list[NewPair]) -> list[Result]:
        """After a failed batch: each pair in a statement of its own, each with its result."""
        results: list[Result] = []
        for pair in pairs:
            self.retried_alone += 1
            try:
                results.append(save_pair(self._db, pair))
            except Exception as err:
                results.append(err)
        return results
