"""Batched look-ups on PostgreSQL: the single-row reads of many requests in one query.

A bearer check is one indexed look-up, a few microseconds of PostgreSQL's time; around it
each query costs the driver some 100 us of this process's CPU and a round trip (protocol,
two context switches, a PostgreSQL backend woken up), during which the event loop waits
(bench/NOTES.md item 37). Here the event loop's coroutines ask for rows and await them; what
they ask during one turn of the loop is read together when the loop comes round: one query,
``unnest`` of the keys ``WITH ORDINALITY`` joined ``LATERAL`` to the very statement a single
look-up runs, so that each key still makes the same index probes, and the answers come back
numbered by key. Under load one query serves as many requests as the loop took in at once.

SQLite needs none of this (its reads are function calls on a local file): there the
statement runs as before, once per request.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from .database import READ_AHEAD, Database, Prepared

# Keys per query at most: a request's digest and two small values are some 100 bytes of
# parameters; larger turns of the loop make several queries.
MAX_BATCH = 256
_KEYS = "agave_keys"
_N = "agave_n"


class BatchedStatement:
    """A single-row ``SELECT`` (a ``Prepared``'s statement) made to answer many keys at once.

    ``per_key`` names the statement's parameters that differ from one look-up to the next
    and their PostgreSQL types (the arrays' element types); ``per_batch`` gives every other
    parameter a function called once per query (the current time, say). The statement must
    return at most one row per key, as a look-up by a unique column does.
    """

    def __init__(
        self,
        single: Prepared,
        per_key: Mapping[str, str],
        per_batch: Mapping[str, Callable[[], Any]] | None = None,
    ) -> None:
        self.single = single
        self.per_key = dict(per_key)
        self.per_batch = dict(per_batch or {})
        single.ahead_key = self.key  # ``Prepared.fetch_one`` finds rows read ahead by key
        self._sql: str | None = None
        self._fixed: dict[str, Any] = {}

    def key(self, params: Mapping[str, Any]) -> tuple:
        """What identifies one look-up: the statement and its per-key values."""
        return (self, *(params[name] for name in self.per_key))

    def sql(self, db: Database) -> str:
        if self._sql is None:
            self._sql, self._fixed = self._compile(db)
        return self._sql

    def fixed(self) -> dict[str, Any]:
        """The values the statement's own literals bound (``select(1)`` and the like)."""
        return self._fixed

    def _compile(self, db: Database) -> tuple[str, dict[str, Any]]:
        compiled = self.single._statement.compile(dialect=db.engine.dialect)
        inner = str(compiled)
        for name in self.per_key:
            placeholder = f"%({name})s"
            if placeholder not in inner:
                raise ValueError(f"the statement has no parameter {name!r} to batch")
            inner = inner.replace(placeholder, f"{_KEYS}.{name}")
        arrays = ", ".join(f"%(k_{name})s::{kind}[]" for name, kind in self.per_key.items())
        columns = ", ".join((*self.per_key, _N))
        fixed = {
            name: value
            for name, value in compiled.params.items()
            if name not in self.per_key and name not in self.per_batch
        }
        missing = [name for name, value in fixed.items() if value is None]
        if missing:
            raise ValueError(f"parameters {missing} are neither per key nor per batch")
        sql = (
            f"SELECT {_KEYS}.{_N}, found.* FROM unnest({arrays}) WITH ORDINALITY "
            f"AS {_KEYS}({columns}) CROSS JOIN LATERAL ({inner}) AS found"
        )
        return re.sub(r"\s+", " ", sql), fixed


class _Batch:
    """The look-ups of one statement waiting for the next query."""

    __slots__ = ("futures", "keys")

    def __init__(self) -> None:
        self.keys: list[dict[str, Any]] = []
        self.futures: list[asyncio.Future] = []


class LookupBatcher:
    """Collects look-ups from the event loop's coroutines and runs each statement's once per
    turn of the loop, on the loop's own connection (``Database.driver``)."""

    def __init__(self, db: Database) -> None:
        if db.is_sqlite:
            raise ValueError("batched look-ups are for PostgreSQL; SQLite reads in place")
        self._db = db
        self._pending: dict[BatchedStatement, _Batch] = {}
        self._scheduled = False
        # What batching achieved (the tests and the benchmark's notes read these).
        self.lookups = 0
        self.queries = 0

    async def fetch_one(self, statement: BatchedStatement, **key: Any) -> tuple | None:
        """The statement's row for this key (its ``per_key`` parameters; None if it has no
        row), read together with every other look-up the loop collects before it comes round."""
        return await self.ask(statement, key)

    def ask(self, statement: BatchedStatement, key: dict[str, Any]) -> asyncio.Future:
        """``fetch_one`` as a future: a caller with several look-ups asks for all of them
        before it awaits the first, so that they go in the same turn's queries."""
        loop = asyncio.get_running_loop()
        batch = self._pending.get(statement)
        if batch is None:
            batch = self._pending[statement] = _Batch()
        future = loop.create_future()
        batch.keys.append(key)
        batch.futures.append(future)
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    async def read_ahead(self, reads: list[tuple[BatchedStatement, dict[str, Any]]]) -> dict:
        """The rows of these look-ups, keyed for ``reading_ahead``: what a synchronous flow
        (an Authlib grant) is about to read, fetched in the loop's batched queries first."""
        futures = [self.ask(statement, key) for statement, key in reads]
        return {
            statement.key(key): await future
            for (statement, key), future in zip(reads, futures, strict=True)
        }

    def _flush(self) -> None:
        self._scheduled = False
        pending, self._pending = self._pending, {}
        for statement, batch in pending.items():
            for start in range(0, len(batch.keys), MAX_BATCH):
                self._run(statement, batch, start)

    def _run(self, statement: BatchedStatement, batch: _Batch, start: int) -> None:
        keys = batch.keys[start : start + MAX_BATCH]
        futures = batch.futures[start : start + MAX_BATCH]
        try:
            rows = self._query(statement, keys)
        except Exception as err:  # every waiting request gets the error (mapped to 503)
            for future in futures:
                if not future.done():
                    future.set_exception(err)
            return
        self.lookups += len(keys)
        self.queries += 1
        found: dict[int, tuple] = {row[0]: row[1:] for row in rows}
        for number, future in enumerate(futures, start=1):
            if not future.done():  # a request that went away meanwhile
                future.set_result(found.get(number))

    def _query(self, statement: BatchedStatement, keys: list[dict[str, Any]]) -> list[tuple]:
        db = self._db
        sql = statement.sql(db)
        args: dict[str, Any] = dict(statement.fixed())
        for name, value_now in statement.per_batch.items():
            args[name] = value_now()
        for name in statement.per_key:
            args[f"k_{name}"] = [key[name] for key in keys]
        if db.statement_hook is not None:
            db.statement_hook(sql, args)
        with db.driver() as conn:
            return conn.execute(sql, args).fetchall()


@contextmanager
def reading_ahead(rows: dict) -> Iterator[None]:
    """Within the block, the statements' single look-ups (``Prepared.fetch_one``) whose key
    is in ``rows`` answer from it instead of querying: rows ``read_ahead`` just fetched, so
    as fresh as reading them in the block. Any other look-up queries as usual."""
    token = READ_AHEAD.set(rows)
    try:
        yield
    finally:
        READ_AHEAD.reset(token)
