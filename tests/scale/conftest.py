"""Fixtures for the scale-out tests: a cluster of server processes on one database."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.scale.cluster import Cluster

CLUSTER_SIZE = 4


@pytest.fixture(scope="package")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    """Four single-worker processes on one database, started together."""
    with Cluster(tmp_path_factory.mktemp("cluster"), CLUSTER_SIZE) as c:
        yield c
