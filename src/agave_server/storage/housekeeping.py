"""Who runs a periodic job this round: one process per interval, however many are running.

Each job has a row holding when it last ran. A process that wants to run the job moves
``last_run`` forward with one conditional UPDATE (``WHERE last_run <= now - interval``); the
row count says whether it won. Concurrent claimers serialise on the row (PostgreSQL re-checks
the WHERE after the winner commits; SQLite's BEGIN IMMEDIATE admits one writer at a time), so
exactly one of them sees 1.
"""

from __future__ import annotations

from sqlalchemy import Connection, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..models import housekeeping
from .database import Database, now

PURGE = "purge"


def _ensure_row(conn: Connection, job: str) -> None:
    """Migrations seed the purge row; a new job's row is created on first use."""
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(housekeeping).values(job=job, last_run=0).on_conflict_do_nothing())


def claim(db: Database, job: str, interval: int) -> bool:
    """True for the one caller that may run ``job`` now (it last ran ``interval`` s ago or more)."""
    t = now()
    with db.write() as conn:
        won = conn.execute(
            update(housekeeping)
            .where(housekeeping.c.job == job, housekeeping.c.last_run <= t - interval)
            .values(last_run=t)
        ).rowcount
        if won == 1:
            return True
        if conn.execute(select(housekeeping.c.job).where(housekeeping.c.job == job)).first():
            return False
    with db.write() as conn:
        _ensure_row(conn, job)
    return claim(db, job, interval)
