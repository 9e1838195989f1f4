"""Several processes migrating one fresh database at the same time.

Operators start all their processes at once after an upgrade, and each
``serve`` migrates at start; the migration lock must make all but one wait,
and every one must then succeed on the finished schema.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

from tests.scale.dbcheck import alembic_versions
from tests.support.server import AGAVE_SERVER, ServerProcess, free_port

RACERS = 4


def _env(db_url: str, data_dir: Path) -> dict[str, str]:
    data_dir.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "AGAVE_SERVER_DB": db_url, "AGAVE_SERVER_DATA_DIR": str(data_dir)}


def test_concurrent_migrate_on_fresh_database(fresh_db_url: str, tmp_path: Path):
    procs = [
        subprocess.Popen(
            [AGAVE_SERVER, "migrate"],
            env=_env(fresh_db_url, tmp_path / f"m{i}"),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(RACERS)
    ]
    outcomes = [(p.wait(120), *p.communicate()) for p in procs]
    assert [rc for rc, _, _ in outcomes] == [0] * RACERS, outcomes
    assert len(alembic_versions(fresh_db_url)) == 1

    # The schema is complete: a server on it does the whole job.
    with ServerProcess(tmp_path / "after", db_url=fresh_db_url) as srv:
        srv.add_user("alice", "pw-alice-123")
        with srv.client() as c:
            r = c.post("/clients/v2", auth=("alice", "pw-alice-123"), data={"clientName": "one"})
            assert r.status_code == 201, r.text
    assert len(alembic_versions(fresh_db_url)) == 1


@contextlib.contextmanager
def _serving(db_url: str, workdir: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    """``agave-server serve`` on a database nobody migrated; stopped by its own pid."""
    port = free_port()
    log = open(workdir / "serve.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [AGAVE_SERVER, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(db_url, workdir),
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        yield proc, f"http://127.0.0.1:{port}"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        log.close()


def _wait_healthy(proc: subprocess.Popen, url: str, log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"serve exited {proc.returncode}:\n{log.read_text()}"
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return
        time.sleep(0.05)
    raise AssertionError(f"no /health from {url} in {timeout}s:\n{log.read_text()}")


def test_concurrent_serve_starts_on_fresh_database(fresh_db_url: str, tmp_path: Path):
    """``serve`` migrates at start: four starting at once on an empty database all come up."""
    dirs = [tmp_path / f"s{i}" for i in range(RACERS)]
    for d in dirs:
        d.mkdir()
    with contextlib.ExitStack() as stack:
        started = [stack.enter_context(_serving(fresh_db_url, d)) for d in dirs]
        for (proc, url), d in zip(started, dirs, strict=True):
            _wait_healthy(proc, url, d / "serve.log")
        assert len(alembic_versions(fresh_db_url)) == 1
        # The shared schema works through every process.
        env = _env(fresh_db_url, tmp_path / "admin")
        for args, stdin in (
            (["tenants", "add", "sd2e", "--name", "SD2E", "--base-url", started[0][1] + "/"], None),
            (["users", "add", "bob", "--tenant", "sd2e", "--password-stdin"], "pw-bob-1234\n"),
        ):
            res = subprocess.run(
                [AGAVE_SERVER, *args],
                env=env,
                input=stdin,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert res.returncode == 0, res.stderr
        host = started[0][1].removeprefix("http://")
        for i, (_, url) in enumerate(started):
            r = httpx.post(
                url + "/clients/v2",
                auth=("bob", "pw-bob-1234"),
                headers={"Host": host},
                data={"clientName": f"c{i}"},
                timeout=30,
            )
            assert r.status_code == 201, r.text
