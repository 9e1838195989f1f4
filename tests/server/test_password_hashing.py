"""argon2 parameters come from the settings; old hashes keep verifying and are upgraded on login."""

from __future__ import annotations

import httpx
from sqlalchemy import create_engine, text

from tests.server.test_cli import fresh_env, run

PASSWORD = "correct horse battery staple"


def stored_hash(srv, username: str) -> str:
    engine = create_engine(srv.db_url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                text("SELECT password_hash FROM users WHERE username = :u"), {"u": username}
            ).scalar_one()
    finally:
        engine.dispose()


def basic_list(srv, password: str) -> int:
    return httpx.get(srv.base_url + "/clients/v2", auth=("hashy", password), timeout=60).status_code


def test_parameters_apply_and_old_hashes_are_upgraded_on_login(make_server) -> None:
    srv = make_server()
    srv.add_user("hashy", PASSWORD)
    # tests/support/server.py's cheap parameters went through the settings to the CLI.
    cheap = stored_hash(srv, "hashy")
    assert cheap.startswith("$argon2id$v=19$m=8192,t=1,p=1$"), cheap
    assert basic_list(srv, PASSWORD) == 200
    assert stored_hash(srv, "hashy") == cheap, "re-hashed although the parameters match"

    srv.stop()
    srv.env.update(
        AGAVE_SERVER_ARGON2_TIME_COST="2",
        AGAVE_SERVER_ARGON2_MEMORY_KIB="16384",
        AGAVE_SERVER_ARGON2_PARALLELISM="2",
    )
    srv.start()
    assert basic_list(srv, "wrong password") == 401
    assert stored_hash(srv, "hashy") == cheap, "a failed login changed the hash"
    assert basic_list(srv, PASSWORD) == 200  # the old hash still verifies...
    upgraded = stored_hash(srv, "hashy")
    assert upgraded.startswith("$argon2id$v=19$m=16384,t=2,p=2$"), upgraded  # ...and is upgraded
    assert basic_list(srv, PASSWORD) == 200
    assert stored_hash(srv, "hashy") == upgraded
    assert basic_list(srv, "wrong password") == 401


def test_bad_parameters_are_one_clear_line(tmp_path) -> None:
    for name, value, expected in (
        ("ARGON2_TIME_COST", "0", "must be at least 1"),
        ("ARGON2_MEMORY_KIB", "lots", "is not an integer"),
        ("ARGON2_PARALLELISM", "0", "must be at least 1"),
    ):
        env = fresh_env(tmp_path)
        env["AGAVE_SERVER_" + name] = value
        r = run(env, "serve", "--port", "0")
        assert r.returncode == 1, r.stderr
        assert f"AGAVE_SERVER_{name}=" in r.stderr and expected in r.stderr, r.stderr
        assert "Traceback" not in r.stderr


def test_memory_must_cover_the_lanes(tmp_path) -> None:
    env = fresh_env(tmp_path)
    env.update(AGAVE_SERVER_ARGON2_PARALLELISM="4", AGAVE_SERVER_ARGON2_MEMORY_KIB="16")
    r = run(env, "migrate")
    assert r.returncode == 1
    assert "AGAVE_SERVER_ARGON2_MEMORY_KIB=16 must be at least 32" in r.stderr
