"""Group commit for the token grants on SQLite: one write transaction for many requests.

Every token grant ends in a short write (store the new pair, or retire the old one and store
its successor). SQLite has one writer per database file, shared by every server process. One
transaction per request on the event loop meant waiting in SQLite's busy handler (sleeps of
1 ms and more, with the whole event loop stopped) whenever the other process was writing, and
a commit (WAL append) per token. Here the writes a process's event loop collects while it is
busy are applied together: one ``BEGIN IMMEDIATE`` ... ``COMMIT`` per batch; a job that breaks
a constraint (say, its client was deleted meanwhile) fails alone.

The processes' batchers take turns through an ``flock`` on ``<database>.write.lock``. When
the database is still locked (a worker thread of this process, or another process's write
outside a batch) the batch is retried a moment later with ``call_later`` instead of sleeping
in SQLite, so the loop keeps serving requests (and the batch grows) meanwhile. Only used by
coroutines on the event loop; other threads write through ``Database.driver(write=True)`` as
before, and the process's write lock keeps the two apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from .database import Database, rollback_quietly

log = logging.getLogger("agave_server")

Job = Callable[[Database, Any], Any]
# Retry delays while the database is locked outside the batchers: short at first (those
# transactions take well under a millisecond), never long enough to matter to a token request.
_FIRST_RETRY_S = 0.0002
_LONGEST_RETRY_S = 0.005
# Give up (503 for the batch's requests) after as long as SQLite's own busy timeout.
_GIVE_UP_S = 15.0


class WriteBatcher:
    """Collects write jobs from the event loop and commits them together."""

    def __init__(self, db: Database) -> None:
        if not db.is_sqlite:
            raise ValueError("group commit is for SQLite; PostgreSQL writes concurrently")
        self._db = db
        self._pending: list[tuple[Job, asyncio.Future]] = []
        self._scheduled = False
        self._retry_delay = _FIRST_RETRY_S
        self._waiting_since: float | None = None
        self._fairy: Any = None
        self._checkpointer: Checkpointer | None = None
        self._lock_file: Any = None
        # What group commit achieved, logged when the process stops.
        self.jobs = 0
        self.batches = 0
        self.lock_retries = 0

    async def submit(self, job: Job) -> Any:
        """Run ``job(db, driver_connection)`` in the next batch's transaction; its result."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._pending.append((job, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def close(self) -> None:
        if self.batches:
            log.info(
                "group commit: %d token writes in %d transactions (%.1f per commit), "
                "%d retries while another process held the write lock",
                self.jobs,
                self.batches,
                self.jobs / self.batches,
                self.lock_retries,
            )
        if self._fairy is not None:
            self._fairy.close()
            self._fairy = None
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        if self._lock_file is not None:
            os.close(self._lock_file)
            self._lock_file = None

    def _connection(self) -> Any:
        """The batcher's own connection: no busy timeout (it retries on the loop instead), and
        no automatic checkpoints (``Checkpointer`` runs them on a thread of its own)."""
        if self._fairy is None:
            self._fairy = self._db.engine.raw_connection()
            self._fairy.driver_connection.execute("PRAGMA busy_timeout = 0")
            self._fairy.driver_connection.execute("PRAGMA wal_autocheckpoint = 0")
            if self._checkpointer is None:
                self._checkpointer = Checkpointer(self._db)
        return self._fairy.driver_connection

    def _flush(self) -> None:
        self._scheduled = False
        if not self._pending:
            return
        if not self._db.try_write_lock():  # a worker thread of this process is writing
            self._retry()
            return
        try:
            with self._between_processes():
                self._flush_locked()
        finally:
            self._db.release_write_lock()

    @contextlib.contextmanager
    def _between_processes(self) -> Iterator[None]:
        """Wait for the other processes' group commits in the kernel's queue, not by polling.

        Every server process's batcher takes this lock (an flock on a file beside the
        database) around its transaction. Waiting here ends the moment the other process
        commits, where retrying on SQLITE_BUSY with timers cost a millisecond or more per
        collision (the event loop's timer resolution) with nothing else to do meanwhile. The
        wait is bounded by one batch of the other process (well under a millisecond); the
        lock dies with its process.
        """
        if self._lock_file is None:
            path = self._db.sqlite_path
            self._lock_file = (
                os.open(f"{path}.write.lock", os.O_CREAT | os.O_RDWR, 0o600) if path else None
            )
        if self._lock_file is None:  # no file beside the database (in-memory): poll instead
            yield
            return
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    def _flush_locked(self) -> None:
        try:
            conn = self._connection()
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as err:
            if _is_busy(err) and not self._waited_too_long():
                self._retry()
                return
            self._fail_all(err)
            return
        batch, self._pending = self._pending, []
        self._retry_delay = _FIRST_RETRY_S
        self._waiting_since = None
        self.batches += 1
        self.jobs += len(batch)
        try:
            outcomes = [self._run(conn, job) for job, _ in batch]
            conn.execute("COMMIT")
        except sqlite3.Error as err:  # the transaction itself failed: nothing was stored
            log.warning("token writes failed: %s", err)
            rollback_quietly(conn, is_sqlite=True)
            self._drop_connection()
            outcomes = [(False, self._db.translated(err))] * len(batch)
        for (_, future), (ok, value) in zip(batch, outcomes, strict=True):
            if future.done():  # the request was cancelled (client went away)
                continue
            if ok:
                future.set_result(value)
            else:
                future.set_exception(value)

    def _run(self, conn: Any, job: Job) -> tuple[bool, Any]:
        """One job; it must leave the transaction usable and its own changes whole when it
        fails (one statement is atomic by itself; more need a savepoint, as a rotation has)."""
        try:
            return True, job(self._db, conn)
        except sqlite3.IntegrityError as err:  # this job fails alone
            return False, self._db.translated(err)

    def _retry(self) -> None:
        """Try again shortly, backing off, without blocking the event loop."""
        self.lock_retries += 1
        if self._waiting_since is None:
            self._waiting_since = time.monotonic()
        self._scheduled = True
        asyncio.get_running_loop().call_later(self._retry_delay, self._flush)
        self._retry_delay = min(self._retry_delay * 2, _LONGEST_RETRY_S)

    def _waited_too_long(self) -> bool:
        return (
            self._waiting_since is not None and time.monotonic() - self._waiting_since > _GIVE_UP_S
        )

    def _fail_all(self, err: Exception) -> None:
        log.warning("token writes failed: %s", err)
        batch, self._pending = self._pending, []
        self._retry_delay = _FIRST_RETRY_S
        self._waiting_since = None
        self._drop_connection()
        for _, future in batch:
            if not future.done():
                future.set_exception(self._db.translated(err))

    def _drop_connection(self) -> None:
        if self._fairy is not None:
            with contextlib.suppress(Exception):  # already broken: nothing left to close
                self._fairy.invalidate()
            self._fairy = None


def _is_busy(err: sqlite3.OperationalError) -> bool:
    code = getattr(err, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)
    return "locked" in str(err) or "busy" in str(err)


class Checkpointer:
    """Copies the WAL back into the database file from a thread, off the event loop.

    SQLite runs a checkpoint inside whichever commit finds the WAL past 1,000 pages: with
    synchronous=NORMAL that is two fsyncs and megabytes of copying, which on the event loop
    stalled every request of the process. The group commit's connection turns that off and
    this thread runs a PASSIVE checkpoint (it never blocks readers or writers) every
    ``interval`` seconds instead; the other connections keep SQLite's automatic checkpoints.

    Under sustained writes a PASSIVE checkpoint never catches up with the last frame, so
    SQLite never starts the WAL over and the file only grows (1.5 GB in a 20 s benchmark),
    and a longer WAL costs every write more (bench/NOTES.md item 13). Once it is past
    ``restart_bytes`` the thread runs a RESTART checkpoint instead: writers wait for it (tens
    of milliseconds, once every few seconds at full load: most frames are already copied),
    and the next write starts the WAL from its beginning (``journal_size_limit`` then trims
    the file).
    """

    def __init__(self, db: Database, interval: float = 0.1, restart_bytes: int = 256 << 20) -> None:
        self._db = db
        self._interval = interval
        self._restart_bytes = restart_bytes
        path = db.sqlite_path
        self._wal_path = f"{path}-wal" if path else None
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="agave-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        fairy = None
        while not self._stopped.wait(self._interval):
            try:
                if fairy is None:
                    fairy = self._db.engine.raw_connection()
                mode = "RESTART" if self._wal_is_long() else "PASSIVE"
                fairy.driver_connection.execute(f"PRAGMA wal_checkpoint({mode})").fetchall()
            except Exception as err:  # retried next round; a broken connection is replaced
                log.warning("WAL checkpoint failed: %s", err)
                if fairy is not None:
                    with contextlib.suppress(Exception):
                        fairy.invalidate()
                    fairy = None
        if fairy is not None:
            fairy.close()

    def _wal_is_long(self) -> bool:
        try:
            return self._wal_path is not None and os.path.getsize(self._wal_path) > (
                self._restart_bytes
            )
        except OSError:  # no WAL file (yet)
            return False
