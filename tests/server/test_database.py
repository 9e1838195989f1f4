"""``Database.driver()`` on the event loop's thread: one connection, dropped when it fails."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy.exc import DBAPIError, OperationalError

from agave_server.storage import Database


def test_loop_thread_reads_share_one_connection_and_a_failure_drops_it(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'loop.db'}")
    try:
        db.own_loop_thread()
        with db.driver() as first, db.driver() as nested:
            assert first is nested  # nested blocks (snapshot around reads) share it
            assert first.execute("SELECT 1").fetchone() == (1,)
        with pytest.raises(OperationalError) as caught, db.driver() as conn:
            conn.execute("SELECT * FROM no_such_table")
        assert isinstance(caught.value, DBAPIError)  # the driver's error, as SQLAlchemy's
        with db.driver() as again:
            assert again is not first  # the failed connection was not kept
            assert again.execute("SELECT 2").fetchone() == (2,)
        with pytest.raises(ValueError), db.driver():
            raise ValueError("not a database error")
        with db.driver() as still:
            assert still is again  # other errors leave the connection alone
    finally:
        db.dispose()
