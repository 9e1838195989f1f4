"""The pooled engine and the two ways to use it: short reads and short write transactions.

On SQLite every connection uses WAL, synchronous=NORMAL, a busy timeout and foreign keys;
write transactions start with BEGIN IMMEDIATE so that two processes never deadlock upgrading a
read lock, and reads run in autocommit mode. On PostgreSQL reads run in autocommit too (one
round trip each) and writes in ordinary READ COMMITTED transactions whose conditional UPDATEs
and row locks do the serialising.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

SQLITE_BUSY_TIMEOUT_MS = 15000
_WRITE = "agave_write"


def _create_private(path: str) -> None:
    """Create the database file owner-only (0600) if it does not exist yet.

    It holds password hashes and token digests; SQLite gives its -wal and -shm files the
    database file's permissions, so they are private too.
    """
    import os
    from pathlib import Path

    db_file = Path(path).expanduser()
    db_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.close(os.open(db_file, os.O_CREAT | os.O_RDWR, 0o600))


def _sqlite_engine(url: str, echo: bool) -> Engine:
    path = make_url(url).database
    if path and path != ":memory:":
        _create_private(path)
    engine = create_engine(url, echo=echo, pool_size=8, max_overflow=16)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # We emit BEGIN ourselves (below); pysqlite's implicit BEGIN would be DEFERRED.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Reads run in SQLite's autocommit mode (each SELECT is its own snapshot; saves a
        # round of BEGIN/ROLLBACK on the hot path); writes take the write lock up front.
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def _postgres_engine(url: str, echo: bool) -> Engine:
    return create_engine(url, echo=echo, pool_size=10, max_overflow=20, pool_pre_ping=False)


class Database:
    """One engine per process; every query of the server goes through ``read()`` or ``write()``."""

    def __init__(self, url: str, echo: bool = False) -> None:
        self.url = url
        self.is_sqlite = url.startswith("sqlite:")
        if self.is_sqlite:
            self.engine = _sqlite_engine(url, echo)
            self._reader = self.engine
        else:
            self.engine = _postgres_engine(url, echo)
            self._reader = self.engine.execution_options(isolation_level="AUTOCOMMIT")
        self._writer = self.engine.execution_options(**{_WRITE: True})
        # SQLite has one writer at a time. This process's threads queue here, in order, instead
        # of in SQLite's busy handler, whose growing back-off sleeps starve unlucky writers past
        # the busy timeout under load (503s on /token). Reentrant, so a thread holding it may
        # open a nested write. PostgreSQL serialises with row locks: no lock there.
        self._write_lock: threading.RLock | None = threading.RLock() if self.is_sqlite else None

    def write_lock(self) -> AbstractContextManager[object]:
        """Held for the whole of one write transaction (SQLite); a no-op on PostgreSQL."""
        return self._write_lock if self._write_lock is not None else nullcontext()

    def acquire_write_lock(self) -> None:
        """For a transaction that outlives one block (oauth.unit); pair with release."""
        if self._write_lock is not None:
            self._write_lock.acquire()

    def release_write_lock(self) -> None:
        if self._write_lock is not None:
            self._write_lock.release()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A connection for a few SELECTs; nothing it does is committed."""
        with self._reader.connect() as conn:
            yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back if it raises."""
        with self.write_lock(), self._writer.begin() as conn:
            yield conn

    def connect_for_write(self) -> Connection:
        """A connection whose transaction the caller begins and ends (see oauth.unit)."""
        return self._writer.connect()

    def dispose(self) -> None:
        self.engine.dispose()


def now() -> int:
    """The current time in the schema's unit (Unix seconds)."""
    return int(time.time())


class Prepared:
    """A statement compiled once per dialect and run through the driver directly.

    For the hot paths only: it skips SQLAlchemy's per-execution statement caching work, which
    costs more than the indexed lookup itself. Parameters are passed by name.
    """

    def __init__(self, statement: Any) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[str, tuple[str, ...] | None, dict[str, Any]]] = {}

    def _compile(self, conn: Connection) -> tuple[str, tuple[str, ...] | None, dict[str, Any]]:
        name = conn.dialect.name
        if name not in self._compiled:
            compiled = self._statement.compile(dialect=conn.dialect)
            order = tuple(compiled.positiontup) if compiled.positional else None
            # Literals in the statement became bound parameters with fixed values.
            self._compiled[name] = (str(compiled), order, dict(compiled.params))
        return self._compiled[name]

    def first(self, conn: Connection, **params: Any) -> Any:
        sql, order, fixed = self._compile(conn)
        values = {**fixed, **params}
        args: Any = tuple(values[k] for k in order) if order is not None else values
        return conn.exec_driver_sql(sql, args).first()
