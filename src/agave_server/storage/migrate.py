"""Run the packaged Alembic migrations, holding a lock so concurrent starts do not race.

PostgreSQL: a session-level advisory lock on the migrating connection. SQLite: a file lock
next to the database file (the database may not exist yet, so its own locks cannot be used).

A server start whose database is already at the newest revision skips Alembic altogether
(``schema_is_current``): importing Alembic and loading its script directory was ~0.17 s of
CPU of every ``agave-server serve``. Alembic is imported only when there is work for it.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from .database import Database

if TYPE_CHECKING:
    from alembic.config import Config

# An arbitrary constant shared by every agave-server process: "agave" in ASCII.
_ADVISORY_LOCK_KEY = 0x6167617665
_VERSIONS = Path(__file__).resolve().parents[1] / "migrations" / "versions"


def alembic_config(connection: Connection | None = None) -> Config:
    """An Alembic configuration built in code: no alembic.ini needs to be installed."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "agave_server:migrations")
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(conn: Connection, revision: str) -> None:
    from alembic import command

    command.upgrade(alembic_config(conn), revision)


def _assigned(tree: ast.Module, name: str) -> object:
    """The literal a module assigns to ``name`` at top level (``KeyError`` if it does not)."""
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign) and node.value is not None
            else []
        )
        if any(isinstance(t, ast.Name) and t.id == name for t in targets):
            return ast.literal_eval(node.value)  # type: ignore[arg-type]
    raise KeyError(name)


def packaged_head() -> str | None:
    """The one head revision of the packaged scripts, read without Alembic; None when that
    cannot be told for sure (a file without literal ids, several heads): then Alembic decides."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in _VERSIONS.glob("*.py"):
        if path.name.startswith("_"):
            continue
        try:
            tree = ast.parse(path.read_bytes())
            revision, down = _assigned(tree, "revision"), _assigned(tree, "down_revision")
        except (SyntaxError, ValueError, KeyError, OSError):
            return None
        if not isinstance(revision, str):
            return None
        revisions.add(revision)
        for parent in down if isinstance(down, tuple | list) else [down]:
            if parent is not None:
                parents.add(str(parent))
    heads = revisions - parents
    return next(iter(heads)) if len(heads) == 1 and parents <= revisions else None


def schema_is_current(db: Database) -> bool:
    """True when the database's recorded revision is the packaged head: nothing to upgrade."""
    head = packaged_head()
    if head is None:
        return False
    try:
        with db.engine.connect() as conn:
            stored = conn.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
    except SQLAlchemyError:  # no table yet (a new database) or unreadable: let Alembic say
        return False
    return stored == [head]


def migrate(db: Database, revision: str = "head") -> None:
    """Bring the schema to ``revision``; safe to call from several processes at once."""
    if revision == "head" and schema_is_current(db):
        return
    if db.is_sqlite:
        path = make_url(db.url).database
        lock_path = Path(f"{path}.migrate.lock") if path and path != ":memory:" else None
        if lock_path is None:
            with db.engine.connect() as conn:
                _upgrade(conn, revision)
                conn.commit()
            return
        from filelock import FileLock

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
