"""What a server start does and does not do: Alembic only when there is a migration to run,
no upstream-sign-in client (httpx) or Alembic imported by building the app."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from alembic.script import ScriptDirectory
from sqlalchemy import text

from agave_server.storage import Database, migrate
from agave_server.storage.migrate import alembic_config, packaged_head, schema_is_current


def test_packaged_head_is_alembics_head():
    assert packaged_head() == ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_schema_is_current_only_at_head(tmp_path: Path):
    db = Database(f"sqlite:///{tmp_path / 'a.db'}")
    try:
        assert not schema_is_current(db)  # a new database: Alembic must run
        migrate(db, "0001")
        assert not schema_is_current(db)  # behind: Alembic must run
        migrate(db)
        assert schema_is_current(db)
        with db.engine.begin() as conn:  # a revision this release does not know
            conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
        assert not schema_is_current(db)
    finally:
        db.dispose()


def test_building_the_app_imports_no_alembic_nor_httpx():
    code = (
        "import sys, agave_server.app\n"
        "heavy = ('alembic', 'httpx', 'rich', 'authlib.integrations.httpx_client')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
