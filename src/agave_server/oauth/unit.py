"""A write transaction opened on first use and finished by whoever handles the request.

The refresh grant claims the old pair and inserts the new one on this one transaction, so the
rotation commits whole or not at all. Grants that only insert open it at the insert, so the
slow password check never runs while a write lock is held. On SQLite the unit holds the
process's write lock (``Database.acquire_write_lock``) from the first use until it is closed.
"""

from __future__ import annotations

from sqlalchemy import Connection

from ..storage import Database


class Unit:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._conn: Connection | None = None

    @property
    def conn(self) -> Connection:
        if self._conn is None:
            self._db.acquire_write_lock()
            try:
                conn = self._db.connect_for_write()
                try:
                    conn.begin()
                except BaseException:
                    conn.close()
                    raise
            except BaseException:
                self._db.release_write_lock()
                raise
            self._conn = conn
        return self._conn

    def commit(self) -> None:
        if self._conn is not None:
            self._conn.commit()
            self.close()

    def rollback(self) -> None:
        if self._conn is not None:
            self._conn.rollback()
            self.close()

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None
                self._db.release_write_lock()
