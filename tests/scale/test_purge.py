"""Housekeeping: dead tokens are deleted, so the token table stays proportional to live tokens.

Dead = revoked, or past every expiry (a rotated pair is kept until its refresh token expires,
so that replaying it is still recognised as reuse). ``agave-server purge`` deletes them on
demand; every process also purges automatically, but only the one that claims the round in
the database does, so several processes purge once per interval between them.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from agave_server.storage import Database, migrate
from agave_server.storage.housekeeping import claim
from tests.scale.cluster import Account, Cluster, me_status, run_together
from tests.scale.dbcheck import connect, count_rows
from tests.support.server import ServerProcess

SHORT_LIVED = {
    # Counted from the whole second of issue: the refresh token lives 3 to 4 s, time enough
    # to be rotated twice on a loaded machine.
    "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": "1",
    "AGAVE_SERVER_REFRESH_TOKEN_LIFETIME": "4",
    "AGAVE_SERVER_PURGE_INTERVAL": "0",
}


def _client_credentials(c: httpx.Client, acct: Account) -> str:
    r = c.post("/token", auth=acct.client_auth, data={"grant_type": "client_credentials"})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def _password(c: httpx.Client, acct: Account) -> dict:
    r = c.post(
        "/token",
        auth=acct.client_auth,
        data={"grant_type": "password", "username": acct.username, "password": acct.password},
    )
    assert r.status_code == 200, r.text
    return r.json()


def _revoke(c: httpx.Client, acct: Account, token: str) -> None:
    assert c.post("/revoke", auth=acct.client_auth, data={"token": token}).status_code == 200


def _client_token_rows(db_url: str, consumer_key: str) -> int:
    with connect(db_url) as conn:
        return conn.execute(
            sa.text(
                "SELECT count(*) FROM tokens WHERE client_id = "
                "(SELECT id FROM clients WHERE consumer_key = :k)"
            ),
            {"k": consumer_key},
        ).scalar_one()


def test_purge_command_leaves_only_live_tokens(tmp_path: Path):
    normal = ServerProcess(tmp_path / "normal", env={"AGAVE_SERVER_PURGE_INTERVAL": "0"})
    short = ServerProcess(tmp_path / "short", db_url=normal.db_url, tenants=(), env=SHORT_LIVED)
    host = {"Host": f"{normal.host}:{normal.port}"}
    try:
        run_together([normal.start, short.start])
        acct = Account("purger", "pw-purger-12345")
        normal.add_user(acct.username, acct.password)
        with normal.client(headers=host) as n, short.client(headers=host) as s:
            r = n.post("/clients/v2", auth=acct.auth, data={"clientName": "p"})
            assert r.status_code == 201, r.text
            acct.key, acct.secret = (
                r.json()["result"]["consumerKey"],
                r.json()["result"]["consumerSecret"],
            )

            live = [_client_credentials(n, acct) for _ in range(5)]
            live_pair = _password(n, acct)
            for _ in range(3):
                _revoke(n, acct, _client_credentials(n, acct))
            _revoke(n, acct, _password(n, acct)["refresh_token"])
            expiring = [_client_credentials(s, acct) for _ in range(10)]
            pair = _password(s, acct)
            for _ in range(2):  # two rotated pairs and the current one
                pair = s.post(
                    "/token",
                    auth=acct.client_auth,
                    data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
                ).json()
            time.sleep(4.2)  # let the short-lived tokens (1 s access, 4 s refresh) expire

            before = count_rows(normal.db_url, "tokens")
            assert before == 5 + 1 + 3 + 1 + 10 + 3
            res = normal.admin("purge")
            assert "removed 17 tokens" in res.stdout, res.stdout
            after = count_rows(normal.db_url, "tokens")
            assert after == len(live) + 1

            # What was kept still works; what was removed stays dead.
            assert [me_status(n, t) for t in [*live, live_pair["access_token"]]] == [200] * 6
            assert {me_status(n, t) for t in expiring} == {401}
            r = n.post(
                "/token",
                auth=acct.client_auth,
                data={"grant_type": "refresh_token", "refresh_token": live_pair["refresh_token"]},
            )
            assert r.status_code == 200, r.text
            print(f"tokens table: {before} rows before purge, {after} after")
    finally:
        short.close()
        normal.close()


def test_automatic_purge_on_four_processes(cluster: Cluster):
    """The cluster purges every second: revoked rows vanish, live ones stay and keep working."""
    acct = cluster.new_account()
    with cluster.client(0) as c:
        tokens = [_client_credentials(c, acct) for _ in range(6)]
        for t in tokens[:4]:
            _revoke(c, acct, t)
    deadline = time.monotonic() + 90
    while _client_token_rows(cluster.db_url, acct.key) > 2:
        assert time.monotonic() < deadline, "the automatic purge did not run within 90 s"
        time.sleep(0.5)
    assert _client_token_rows(cluster.db_url, acct.key) == 2
    with cluster.clients(len(cluster)) as cs:
        for c in cs:
            assert [me_status(c, t) for t in tokens] == [401] * 4 + [200] * 2


@pytest.mark.parametrize("job", ["purge", "a-new-job"])
def test_one_process_claims_each_round(fresh_db_url: str, job: str):
    """Eight engines (as eight processes would have) claim at once: exactly one wins."""
    setup = Database(fresh_db_url)
    migrate(setup)
    setup.dispose()
    dbs = [Database(fresh_db_url) for _ in range(8)]
    try:
        won = run_together([lambda db=db: claim(db, job, 3600) for db in dbs])
        assert sorted(won) == [False] * 7 + [True]
        assert run_together([lambda db=db: claim(db, job, 3600) for db in dbs]) == [False] * 8
    finally:
        for db in dbs:
            db.dispose()
