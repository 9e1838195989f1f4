"""Fixtures for the SDK tests: Agave objects on the session server, in a private cache dir."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from agavepy.agave import Agave
from tests.conftest import User
from tests.support.server import ServerProcess


@pytest.fixture
def cache_dir(tmp_path: Path) -> Path:
    return tmp_path / "agave-cache"


@pytest.fixture
def make_agave(server: ServerProcess, cache_dir: Path) -> Iterator[Callable[..., Agave]]:
    """``make_agave(user, **kw)``: an Agave for ``user`` on ``server`` that never prompts."""
    made: list[Agave] = []

    def _make(user: User, srv: ServerProcess | None = None, **kw) -> Agave:
        srv = srv or server
        kw.setdefault("cache_dir", cache_dir)
        ag = Agave(
            api_server=srv.base_url,
            tenant_id=user.tenant,
            username=user.username,
            password=user.password,
            prompt=False,
            **kw,
        )
        made.append(ag)
        return ag

    yield _make
    for ag in made:
        ag.close()


def scan_for(directory: Path, secret: str) -> list[Path]:
    """Files under ``directory`` that contain ``secret``."""
    hits = []
    for path in directory.rglob("*"):
        if path.is_file() and secret.encode() in path.read_bytes():
            hits.append(path)
    return hits
