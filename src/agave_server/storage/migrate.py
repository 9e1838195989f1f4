"""Run the packaged Alembic migrations, holding a lock so concurrent starts do not race.

PostgreSQL: a session-level advisory lock on the migrating connection. SQLite: a file lock
next to the database file (the database may not exist yet, so its own locks cannot be used).
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from filelock import FileLock
from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

from .database import Database

# An arbitrary constant shared by every agave-server process: "agave" in ASCII.
_ADVISORY_LOCK_KEY = 0x6167617665


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code: no alembic.ini needs to be installed."""
    cfg = Config()
    cfg.set_main_option("script_location", "agave_server:migrations")
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(conn: Connection, revision: str) -> None:
    command.upgrade(alembic_config(conn), revision)


def migrate(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to call from several processes at once."""
    if db.is_sqlite:
        path = make_url(db.url).database
        lock_path = Path(f"{path}.migrate.lock") if path and path != ":memory:" else None
        if lock_path is None:
            with db.engine.connect() as conn:
                _upgrade(conn, revision)
                conn.commit()
            return
        with FileLock(str(lock_path)), db.engine.connect() as conn:
            _upgrade(conn, revision)
            conn.commit()
        return
    with db.engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        conn.commit()
        try:
            _upgrade(conn, revision)
            conn.commit()
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_LOCK_KEY})
            conn.commit()


def current_revision(db: Database) -> str | None:
    """The revision the database is at (None when never migrated)."""
    from alembic.runtime.migration import MigrationContext

    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
