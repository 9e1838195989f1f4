"""Token lifecycle across the operator's actions, concurrency, and secrets at rest."""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.conftest import User
from tests.server.conftest import create_client, me, password_token, refresh


def test_removing_a_user_revokes_their_tokens(http, new_user, server):
    u = new_user()
    client = create_client(http, u)
    t = password_token(http, client)
    assert me(http, t["access_token"]).status_code == 200
    r = server.admin("users", "remove", u.username, "--tenant", "sd2e")
    assert "tokens revoked" in r.stdout
    assert me(http, t["access_token"]).status_code == 401
    assert http.get("/clients/v2", auth=u.auth).status_code == 401


def test_password_change_keeps_tokens_but_not_the_old_password(http, new_user, server):
    u = new_user()
    server.admin(
        "users",
        "passwd",
        u.username,
        "--tenant",
        "sd2e",
        "--password-stdin",
        input="brand-new-pw\n",
    )
    assert http.get("/clients/v2", auth=u.auth).status_code == 401
    assert http.get("/clients/v2", auth=(u.username, "brand-new-pw")).status_code == 200


def test_purge_removes_dead_tokens(http, user, server):
    client = create_client(http, user)
    t = password_token(http, client)
    http.post("/revoke", data={"token": t["access_token"]}, auth=client.auth)
    r = server.admin("purge")
    removed = int(r.stdout.split()[1])
    assert removed >= 1, r.stdout
    live = password_token(http, client)
    server.admin("purge")
    assert me(http, live["access_token"]).status_code == 200


def test_concurrency_with_two_workers(make_server):
    srv = make_server(workers=2)
    u = User("racer", "pw-racer")
    srv.add_user(u.username, u.password)
    with srv.client() as http:
        client = create_client(http, u)
        t = password_token(http, client)

        def one_refresh(_):
            with srv.client() as h:
                return refresh(h, client, t["refresh_token"]).status_code

        with ThreadPoolExecutor(8) as pool:
            codes = list(pool.map(one_refresh, range(8)))
        assert codes.count(200) == 1, codes
        assert set(codes) == {200, 400}

        def one_create(_):
            with srv.client() as h:
                return h.post("/clients/v2", data={"clientName": "same"}, auth=u.auth).status_code

        with ThreadPoolExecutor(6) as pool:
            codes = list(pool.map(one_create, range(6)))
        assert sorted(codes) == [201] + [409] * 5, codes


@pytest.mark.skipif(bool(os.environ.get("AGAVE_TEST_DATABASE_URL")), reason="reads SQLite files")
def test_no_secret_in_the_database_files(make_server):
    srv = make_server()
    u = User("secretive", "pw-" + "Q" * 20)
    srv.add_user(u.username, u.password)
    with srv.client() as http:
        client = create_client(http, u)
        t = password_token(http, client)
        t2 = refresh(http, client, t["refresh_token"]).json()
    srv.stop()
    blob = b"".join(p.read_bytes() for p in srv.workdir.glob("agave.db*") if p.is_file())
    for secret in (
        client.secret,
        t["access_token"],
        t["refresh_token"],
        t2["access_token"],
        t2["refresh_token"],
        u.password,
    ):
        assert secret.encode() not in blob
    assert client.key.encode() in blob  # the key is an identifier, stored plain
    log = srv.log()
    for secret in (client.secret, t["access_token"], t["refresh_token"], u.password):
        assert secret not in log
