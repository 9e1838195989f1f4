"""Reading the shared database directly, to check what HTTP answers cannot show (row counts).

Only reads; the server's own code is the only writer in these tests, except where a test
deliberately writes rows of a previous schema revision (``test_migration_data``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa


@contextmanager
def connect(db_url: str) -> Iterator[sa.Connection]:
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            yield conn
    finally:
        engine.dispose()


def count_rows(db_url: str, table: str) -> int:
    with connect(db_url) as conn:
        return conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one()


def alembic_versions(db_url: str) -> list[str]:
    with connect(db_url) as conn:
        return [r[0] for r in conn.execute(sa.text("SELECT version_num FROM alembic_version"))]
