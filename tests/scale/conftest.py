"""Fixtures for the scale-out tests: a cluster of server processes on one database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from agave_server.storage import Database, migrate
from tests.scale.cluster import Cluster
from tests.support.server import PostgresDatabase

CLUSTER_SIZE = 4


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Four single-worker processes on one database, started together.

    The automatic purge runs every second, so every race below also races the purge.
    """
    env = {"AGAVE_SERVER_PURGE_INTERVAL": "1"}
    with Cluster(tmp_path_factory.mktemp("cluster"), CLUSTER_SIZE, env=env) as c:
        yield c


@pytest.fixture
def fresh_db_url(tmp_path: Path) -> Iterator[str]:
    """An empty database: a new PostgreSQL database, or a SQLite file not yet created."""
    pg_base = os.environ.get("AGAVE_TEST_DATABASE_URL")
    if not pg_base:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    db = PostgresDatabase(pg_base)
    try:
        yield db.url
    finally:
        db.drop()


@contextmanager
def seeded_postgres(seed: list[str]) -> Iterator[Database]:
    """A throw-away PostgreSQL database, migrated and filled by ``seed`` in one transaction
    (``AGAVE_TEST_DATABASE_URL``'s server), dropped after."""
    pg = PostgresDatabase(os.environ["AGAVE_TEST_DATABASE_URL"])
    database = Database(pg.url)
    try:
        migrate(database)
        with database.engine.begin() as conn:
            for sql in seed:
                conn.exec_driver_sql(sql)
        yield database
    finally:
        database.dispose()
        pg.drop()
