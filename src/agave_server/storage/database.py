"""The pooled engine and the two ways to use it: short reads and short write transactions.

On SQLite every connection uses WAL, synchronous=NORMAL, a busy timeout and foreign keys;
write transactions start with BEGIN IMMEDIATE so that two processes never deadlock upgrading a
read lock, and reads run in autocommit mode. On PostgreSQL reads run in autocommit too (one
round trip each) and writes in ordinary READ COMMITTED transactions whose conditional UPDATEs
and row locks do the serialising.
"""

from __future__ import annotations

import operator
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext, suppress
from contextvars import ContextVar
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

SQLITE_BUSY_TIMEOUT_MS = 15000
# Every commit (from any process) empties each connection's page cache, so the next read
# would fetch every page again with a system call; memory-mapped, unchanged pages of the
# database file (users, clients, the upper levels of every index) are read in place.
SQLITE_MMAP_BYTES = 1 << 30
# What is left of the WAL file after SQLite starts it over (see storage.batch.Checkpointer).
SQLITE_WAL_KEEP_BYTES = 64 << 20
_WRITE = "agave_write"
# Rows read ahead for the request being handled (``storage.lookups.reading_ahead``): keyed by
# ``Prepared.ahead_key(params)``; None outside such a block.
READ_AHEAD: ContextVar[dict | None] = ContextVar("agave_read_ahead", default=None)
_NOT_READ = object()


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
        cursor.execute(f"PRAGMA mmap_size = {SQLITE_MMAP_BYTES}")
        cursor.execute(f"PRAGMA journal_size_limit = {SQLITE_WAL_KEEP_BYTES}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Reads run in SQLite's autocommit mode (each SELECT is its own snapshot; saves a
        # round of BEGIN/ROLLBACK on the hot path); writes take the write lock up front.
        if conn.get_execution_options().get(_WRITE):
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


# On PostgreSQL the blocking work of a request (token grants, introspection, pages) runs in
# this many threads per worker, each keeping a pooled connection. With more threads than pooled
# connections (anyio's default of 40 against a pool of 10), the overflow connections were
# opened and closed again for every few requests: a PostgreSQL backend started per request,
# statements never prepared long enough to pay off, and 40 threads fighting over the GIL
# (bench/NOTES.md item 23).
POSTGRES_THREADS = 16


def _postgres_engine(url: str, echo: bool) -> Engine:
    # The threads, the event loop's own connection and the background tasks, without churn.
    return create_engine(
        url, echo=echo, pool_size=POSTGRES_THREADS + 4, max_overflow=8, pool_pre_ping=False
    )


def _count_connections_in_use(engine: Engine) -> None:
    """Keep ``agave_server_db_connections_in_use`` up to date from the pool's own events."""
    from .. import metrics

    in_use = metrics.DB_IN_USE
    event.listen(engine, "checkout", lambda *_args: in_use.inc())
    event.listen(engine, "checkin", lambda *_args: in_use.dec())


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
        _count_connections_in_use(self.engine)
        # SQLite has one writer at a time. This process's threads queue here, in order, instead
        # of in SQLite's busy handler, whose growing back-off sleeps starve unlucky writers past
        # the busy timeout under load (503s on /token). Reentrant, so a thread holding it may
        # open a nested write. PostgreSQL serialises with row locks: no lock there.
        self._write_lock: threading.RLock | None = threading.RLock() if self.is_sqlite else None
        # Called with (sql, parameters) before each ``Prepared`` statement on a driver
        # connection (SQLAlchemy's events do not see those); the EXPLAIN tests listen here.
        self.statement_hook: Callable[[str, Any], None] | None = None
        self._loop_thread: int | None = None
        self._loop_fairy: Any = None
        self._loop_reader = _LoopRead(self)
        self._in_snapshot = False

    @property
    def capacity(self) -> int:
        """How many connections the pool may open at most (size plus overflow)."""
        pool = self.engine.pool
        return pool.size() + max(0, getattr(pool, "_max_overflow", 0))

    @property
    def sqlite_path(self) -> str | None:
        """The SQLite database file (None on PostgreSQL or for an in-memory database)."""
        path = make_url(self.url).database if self.is_sqlite else None
        if not path or path == ":memory:" or path.startswith("file:"):
            return None
        return path

    def write_lock(self) -> AbstractContextManager[object]:
        """Held for the whole of one write transaction (SQLite); a no-op on PostgreSQL."""
        return self._write_lock if self._write_lock is not None else nullcontext()

    def try_write_lock(self) -> bool:
        """Take the process's write lock if it is free (``storage.batch``; pair with release)."""
        return self._write_lock.acquire(blocking=False) if self._write_lock is not None else True

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

    def driver(self, write: bool = False) -> AbstractContextManager[Any]:
        """The driver's own connection, for the hot paths' prepared statements (``Prepared``).

        SQLAlchemy's ``Connection`` costs ~45 us per statement around a 5 us indexed lookup
        (bench/NOTES.md item 9); these few statements skip it. Reads run in autocommit mode;
        with ``write=True`` the block is one transaction (BEGIN IMMEDIATE and the process's
        write lock on SQLite), committed when it ends and rolled back if it raises. Driver
        errors come out as SQLAlchemy's, so the API maps them as it maps any other (503).
        Reads on the event loop's thread (``own_loop_thread``) reuse one connection that
        thread keeps; every other thread borrows one from the pool.
        """
        if write:
            return self._driver_write()
        if self._loop_thread == threading.get_ident():
            return self._loop_reader
        return self._pooled_read()

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """On the event loop's thread, on SQLite: the block's reads share one read transaction.

        Each read transaction costs shared-memory locking and, when anything was committed
        since the last one (every token request commits), a fresh page cache; a token grant's
        reads (throttle, client with owner, and a refresh's pair) pay that once. Elsewhere
        (other threads, PostgreSQL) a no-op.
        """
        if not self.is_sqlite or self._loop_thread != threading.get_ident() or self._in_snapshot:
            yield
            return
        with self._loop_reader as conn:
            conn.execute("BEGIN")
            self._in_snapshot = True
            try:
                yield
            finally:
                self._in_snapshot = False
                with suppress(Exception):  # a connection dropped after an error is closed
                    if conn.in_transaction:
                        conn.execute("COMMIT")

    def own_loop_thread(self) -> None:
        """Called on the event loop's thread: its reads keep one connection (no pool trips)."""
        self._loop_thread = threading.get_ident()

    def _loop_connection(self) -> Any:
        """The event loop thread's driver connection, opened on first use."""
        fairy = self._loop_fairy
        if fairy is None:
            fairy = self.engine.raw_connection()
            if not self.is_sqlite:
                fairy.driver_connection.autocommit = True
            self._loop_fairy = fairy
        return fairy.driver_connection

    def _drop_loop_connection(self, err: BaseException | None = None) -> None:
        fairy, self._loop_fairy = self._loop_fairy, None
        if fairy is not None:
            with suppress(Exception):  # a broken connection has nothing left to close
                fairy.invalidate(err)

    @contextmanager
    def _borrowed(self) -> Iterator[Any]:
        """A driver connection from the pool, returned after the block; driver errors come
        out as SQLAlchemy's, and a connection that broke is discarded."""
        fairy = self.engine.raw_connection()
        dbapi_conn = fairy.driver_connection
        try:
            yield dbapi_conn
        except self._dbapi_error as err:
            if self.engine.dialect.is_disconnect(err, dbapi_conn, None):
                fairy.invalidate(err)
            raise self.translated(err) from err
        finally:
            fairy.close()

    def one_statement_write(self) -> AbstractContextManager[Any]:
        """A driver connection for a write that is one statement, atomic by itself.

        On PostgreSQL it runs in autocommit mode: one round trip, where a transaction takes
        three (psycopg sends BEGIN, the statement, then COMMIT; bench/NOTES.md item 36). On
        SQLite it is ``driver(write=True)``: the write lock and BEGIN IMMEDIATE still apply.
        """
        return self._driver_write() if self.is_sqlite else self._autocommit()

    @contextmanager
    def _pooled_read(self) -> Iterator[Any]:
        if self.is_sqlite:
            with self._borrowed() as dbapi_conn:
                yield dbapi_conn
            return
        with self._autocommit() as dbapi_conn:
            yield dbapi_conn

    @contextmanager
    def _autocommit(self) -> Iterator[Any]:
        """PostgreSQL: a pooled connection in autocommit mode for the block, given back to the
        pool in transaction mode even when the block raised (a write borrowing it next must
        get a transaction, not a commit per statement)."""
        with self._borrowed() as dbapi_conn:
            dbapi_conn.autocommit = True
            try:
                yield dbapi_conn
            finally:
                with suppress(Exception):  # a broken connection is discarded anyway
                    dbapi_conn.autocommit = False

    @contextmanager
    def _driver_write(self) -> Iterator[Any]:
        with self.write_lock(), self._borrowed() as dbapi_conn:
            if self.is_sqlite:
                dbapi_conn.execute("BEGIN IMMEDIATE")
            try:
                yield dbapi_conn
                if self.is_sqlite:
                    dbapi_conn.execute("COMMIT")
                else:
                    dbapi_conn.commit()
            except BaseException:
                rollback_quietly(dbapi_conn, self.is_sqlite)
                raise

    @property
    def _dbapi_error(self) -> type[Exception]:
        return self.engine.dialect.loaded_dbapi.Error

    def translated(self, err: Exception) -> DBAPIError:
        """A driver error as SQLAlchemy's own (OperationalError, IntegrityError, ...)."""
        return DBAPIError.instance(None, None, err, self._dbapi_error)

    def dispose(self) -> None:
        self._drop_loop_connection()
        self.engine.dispose()


def rollback_quietly(dbapi_conn: Any, is_sqlite: bool) -> None:
    """Undo an unfinished transaction; a broken connection has nothing left to undo."""
    try:
        if is_sqlite:
            if dbapi_conn.in_transaction:
                dbapi_conn.execute("ROLLBACK")
        else:
            dbapi_conn.rollback()
    except Exception:  # the original error is the one worth reporting
        pass


def now() -> int:
    """The current time in the schema's unit (Unix seconds)."""
    return int(time.time())


class _LoopRead:
    """``Database.driver()`` on the event loop's thread: its one connection for the block;
    a driver error drops it (the next read opens another) and comes out as SQLAlchemy's.

    A class rather than a ``@contextmanager`` generator: every hot request enters one, and a
    generator's context manager costs about a microsecond more. It keeps no state per use,
    so one instance serves nested blocks (``snapshot`` around the reads).
    """

    __slots__ = ("_db",)

    def __init__(self, db: Database) -> None:
        self._db = db

    def __enter__(self) -> Any:
        return self._db._loop_connection()

    def __exit__(self, kind: type[BaseException] | None, err: BaseException | None, _tb) -> bool:
        db = self._db
        if kind is not None and issubclass(kind, db._dbapi_error):
            db._drop_loop_connection(err)
            raise db.translated(err) from err  # type: ignore[arg-type]
        return False


class Prepared:
    """A statement compiled once per dialect and run on a driver connection (``driver()``).

    For the hot paths only: it skips SQLAlchemy's ``Connection`` and per-execution statement
    caching work, which cost more than the indexed look-up itself (~55 us against ~10 us).
    Parameters are passed by name. The driver's arguments are built by a function made at
    compile time (``operator.itemgetter`` for positional drivers), and the statement runs
    through the connection's own ``execute``: together a few microseconds less per statement
    than a generic merge-and-reorder and an explicit cursor (bench/NOTES.md item 34).
    """

    def __init__(self, statement: Any) -> None:
        self._statement = statement
        self._compiled: dict[str, tuple[str, Callable[[dict[str, Any]], Any]]] = {}
        # Set by ``storage.lookups.BatchedStatement``: the look-up's key, for rows read ahead.
        self.ahead_key: Callable[[dict[str, Any]], tuple] | None = None

    def _compile_for(self, dialect: Any) -> tuple[str, Callable[[dict[str, Any]], Any]]:
        name = dialect.name
        found = self._compiled.get(name)
        if found is None:
            compiled = self._statement.compile(dialect=dialect)
            order = tuple(compiled.positiontup) if compiled.positional else None
            # Literals in the statement became bound parameters with fixed values.
            found = (str(compiled), _arguments(order, dict(compiled.params)))
            self._compiled[name] = found
        return found

    def run(self, db: Database, dbapi_conn: Any, **params: Any) -> Any:
        """Execute on a driver connection from ``Database.driver()``; returns its cursor."""
        return self._execute(db, dbapi_conn, params)

    def fetch_one(self, db: Database, dbapi_conn: Any, **params: Any) -> tuple | None:
        if self.ahead_key is not None:
            ahead = READ_AHEAD.get()
            if ahead is not None:
                row = ahead.get(self.ahead_key(params), _NOT_READ)
                if row is not _NOT_READ:
                    return row
        return self._execute(db, dbapi_conn, params).fetchone()

    def rowcount(self, db: Database, dbapi_conn: Any, **params: Any) -> int:
        return self._execute(db, dbapi_conn, params).rowcount

    def _execute(self, db: Database, dbapi_conn: Any, params: dict[str, Any]) -> Any:
        # The parameters as one dict, not ``**params`` again: the hot paths run a statement
        # or two per request, and each repacking is a dict built for nothing.
        sql, arguments = self._compile_for(db.engine.dialect)
        args = arguments(params)
        if db.statement_hook is not None:
            db.statement_hook(sql, args)
        return dbapi_conn.execute(sql, args)


def _arguments(
    order: tuple[str, ...] | None, fixed: dict[str, Any]
) -> Callable[[dict[str, Any]], Any]:
    """The driver's arguments from the caller's parameters by name: a tuple in ``order`` for
    positional drivers (SQLite), else a mapping (psycopg); ``fixed`` fills what the statement
    itself bound (literals). Fixed values are filled only where the caller gave none, so every
    parameter a statement declares with ``bindparam`` stays the caller's to give."""
    if order is None:
        return (lambda params: {**fixed, **params}) if fixed else (lambda params: params)
    if fixed:
        getter = operator.itemgetter(*order)

        def with_fixed(params: dict[str, Any]) -> Any:
            values = getter({**fixed, **params})
            return values if len(order) > 1 else (values,)

        return with_fixed
    if len(order) == 1:
        (only,) = order
        return lambda params: (params[only],)
    return operator.itemgetter(*order) if order else (lambda params: ())
