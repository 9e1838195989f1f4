"""Fixtures for the ``agave`` command line: the installed console script, the real server.

Every run gets its own ``AGAVE_CACHE_DIR`` (a tmp folder) and finds the
tenants service through ``AGAVE_TENANTS_API_BASEURL``; the caller's own
``AGAVE_USERNAME`` / ``AGAVE_PASSWORD`` are removed so tests only see what
they pass. stdin is a pipe unless a test uses :func:`spawn` (a
pseudo-terminal, for prompts).
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import User, unique_name
from tests.support.server import AGAVE, ServerProcess
from tests.support.terminal import interruptible


@dataclass
class Result:
    """One finished ``agave`` run."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    def json(self) -> Any:
        """stdout must be exactly one JSON document."""
        return json.loads(self.out)

    def __str__(self) -> str:
        return f"agave {' '.join(self.args)} -> {self.code}\nstdout: {self.out}\nstderr: {self.err}"


class Agave:
    """Runs ``agave`` with one cache folder, like one user on one machine."""

    def __init__(self, server: ServerProcess, cache_dir: Path) -> None:
        self.server = server
        self.cache_dir = cache_dir
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("AGAVE_")}
        self.env.update(
            {
                "AGAVE_CACHE_DIR": str(cache_dir),
                "AGAVE_TENANTS_API_BASEURL": server.tenants_url,
                "COLUMNS": "200",
            }
        )

    def __call__(
        self, *args: str, input: str | None = None, env: dict[str, str] | None = None
    ) -> Result:
        proc = subprocess.run(
            [AGAVE, *args],
            input=input if input is not None else "",
            capture_output=True,
            text=True,
            env={**self.env, **(env or {})},
            timeout=120,
        )
        return Result(args, proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kw: Any) -> Result:
        """Run and require exit 0, no traceback."""
        res = self(*args, **kw)
        assert res.code == 0, str(res)
        assert "Traceback" not in res.err, str(res)
        return res

    def as_user(self, user: User, *args: str) -> Result:
        """Run with the user's credentials: -u and the password on stdin."""
        return self(*args, "-u", user.username, "--password-stdin", input=user.password + "\n")

    def current(self) -> dict[str, Any]:
        return json.loads((self.cache_dir / "current").read_text())

    def config(self) -> dict[str, Any]:
        return json.loads((self.cache_dir / "config.json").read_text())

    def spawn(self, *args: str, **kw: Any):
        """``agave ARGS`` on a pseudo-terminal, for prompts (pexpect)."""
        import pexpect

        return pexpect.spawn(
            AGAVE,
            list(args),
            env={**self.env, **kw.pop("env", {})},
            encoding="utf-8",
            timeout=60,
            preexec_fn=interruptible,
            **kw,
        )


@pytest.fixture
def agave(server: ServerProcess, tmp_path: Path) -> Agave:
    """``agave`` with an empty cache folder."""
    cache = tmp_path / "agave-cache"
    cache.mkdir()
    return Agave(server, cache)


@pytest.fixture
def make_agave(server: ServerProcess, tmp_path: Path) -> Callable[[], Agave]:
    """More ``agave`` homes (other machines) in the same test."""

    def _make() -> Agave:
        cache = tmp_path / unique_name("cache")
        cache.mkdir()
        return Agave(server, cache)

    return _make


@pytest.fixture
def logged_in(agave: Agave, user: User) -> tuple[Agave, User, dict[str, Any]]:
    """A session with a tenant, a client and a token, made with ``agave`` alone."""
    agave.ok("tenants", "init", "sd2e")
    created = agave.as_user(user, "clients", "create", "-N", unique_name("cli"), "--json")
    assert created.code == 0, str(created)
    token = agave.as_user(user, "tokens", "create", "--json")
    assert token.code == 0, str(token)
    return agave, user, created.json()
