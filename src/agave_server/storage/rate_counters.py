"""The gateway's request counters in the database, shared by every server process.

Fixed windows aligned to the period (a minute window starts on the minute), one row per key:
one upsert per counted key adds the request and returns the count, so two processes counting
the same client at once both see the sum. A row from an earlier window starts over at 1.
``storage.redis_rate`` keeps the same counters in Redis when it is configured.
"""

from __future__ import annotations

from sqlalchemy import bindparam, case, delete
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..models import rate_counters
from .database import Database, Prepared, now

# Rows this much older than their window are dead (the longest period is an hour).
STALE_AFTER = 2 * 3600


def _hit_statement(insert):
    stmt = insert(rate_counters).values(
        key=bindparam("key"), window_start=bindparam("window_start"), hits=1
    )
    same_window = rate_counters.c.window_start >= stmt.excluded.window_start
    return stmt.on_conflict_do_update(
        index_elements=[rate_counters.c.key],
        set_={
            "hits": case((same_window, rate_counters.c.hits + 1), else_=1),
            "window_start": case(
                (same_window, rate_counters.c.window_start), else_=stmt.excluded.window_start
            ),
        },
    ).returning(rate_counters.c.hits)


# Compiled once per dialect (the upsert syntax is the dialect's own).
_HIT = {
    "sqlite": Prepared(_hit_statement(sqlite_insert)),
    "postgresql": Prepared(_hit_statement(pg_insert)),
}


class DatabaseRateCounters:
    """``services.tiers.RateCounters`` in the ``rate_counters`` table."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._hit = _HIT["sqlite" if db.is_sqlite else "postgresql"]

    def hit(self, windows: list[tuple[str, int, int]]) -> list[int]:
        """Count one request in each ``(key, period, window_start)``; the counts after it."""
        counts = []
        with self._db.driver(write=True) as conn:
            for key, _period, window_start in windows:
                row = self._hit.fetch_one(self._db, conn, key=key, window_start=window_start)
                counts.append(int(row[0]))
        return counts


def purge(db: Database) -> int:
    """Drop counters of windows long gone (housekeeping)."""
    with db.write() as conn:
        return conn.execute(
            delete(rate_counters).where(rate_counters.c.window_start < now() - STALE_AFTER)
        ).rowcount
