"""Several processes migrating one fresh database at the same time.

Operators start all their processes at once after an upgrade, and each
``serve`` migrates at start; the migration lock must make all but one wait,
and every one must then succeed on the finished schema.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path

import httpx

from tests.scale.dbcheck import alembic_versions
from tests.support.server import AGAVE_SERVER, ServerProcess

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


def test_concurrent_serve_starts_on_fresh_database(fresh_db_url: str, tmp_path: Path):
    """``serve`` migrates at start: four starting at once on an empty database all come up."""
    # Nobody migrates first: each serve does, all at once.
    servers = [
        ServerProcess(tmp_path / f"s{i}", db_url=fresh_db_url, tenants=(), migrate=False)
        for i in range(RACERS)
    ]
    with contextlib.ExitStack() as stack:
        for srv in servers:
            srv.launch()
            stack.callback(srv.close)
        for srv in servers:
            srv.wait_ready(timeout=60)
        started = [(srv.proc, srv.base_url) for srv in servers]
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
