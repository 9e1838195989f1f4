"""``AGAVE_SERVER_REDIS``: the login-failure counters live in Redis, shared by every process.

Runs when ``AGAVE_TEST_REDIS_URL`` names a Redis (CI sets it). Each test uses its own random
key prefix and deletes its keys afterwards; nothing else in that Redis is touched.
The last test needs no Redis: an unreachable one must give 503, not a 500 or a free pass.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scale.cluster import Cluster, me_status
from tests.scale.dbcheck import count_rows
from tests.support.server import ServerProcess

REDIS_URL = os.environ.get("AGAVE_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="AGAVE_TEST_REDIS_URL is not set")
MAX_FAILURES = 4


@pytest.fixture(scope="module")
def redis_prefix() -> Iterator[str]:
    import redis

    prefix = f"agavetest:{secrets.token_hex(6)}:"
    yield prefix
    r = redis.Redis.from_url(REDIS_URL)
    try:
        keys = list(r.scan_iter(match=prefix + "*", count=1000))
        if keys:
            r.delete(*keys)
    finally:
        r.close()


@pytest.fixture(scope="module")
def redis_cluster(tmp_path_factory: pytest.TempPathFactory, redis_prefix: str) -> Iterator[Cluster]:
    env = {
        "AGAVE_SERVER_REDIS": REDIS_URL or "",
        "AGAVE_SERVER_REDIS_PREFIX": redis_prefix,
        "AGAVE_SERVER_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
        "AGAVE_SERVER_LOGIN_WINDOW": "120",
    }
    with Cluster(tmp_path_factory.mktemp("redis"), 4, env=env) as c:
        yield c


@needs_redis
@pytest.mark.redis
def test_failed_logins_counted_across_processes_in_redis(redis_cluster: Cluster, redis_prefix: str):
    import redis

    victim = redis_cluster.new_account()
    bystander = redis_cluster.new_account(with_client=False)
    with redis_cluster.clients(len(redis_cluster)) as cs:
        # One wrong password on each of the four processes uses up the account's budget.
        for c in cs[:MAX_FAILURES]:
            assert c.get("/clients/v2", auth=(victim.username, "wrong")).status_code == 401
        for c in cs:  # every process now refuses, even the right password
            r = c.get("/clients/v2", auth=victim.auth)
            assert r.status_code == 429, r.text
            assert 1 <= int(r.headers["retry-after"]) <= 120
        r = cs[2].post(
            "/token",
            auth=victim.client_auth,
            data={
                "grant_type": "password",
                "username": victim.username,
                "password": victim.password,
            },
        )
        assert r.status_code == 429, r.text
        assert cs[3].get("/clients/v2", auth=bystander.auth).status_code == 200

    # The counts are in Redis under this run's prefix, and not in the database.
    r = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [k.decode() for k in r.scan_iter(match=redis_prefix + "*")]
        victim_keys = [k for k in keys if k.endswith(":" + victim.username)]
        assert len(victim_keys) == 1, keys
        assert int(r.get(victim_keys[0])) == MAX_FAILURES
        assert 0 < r.ttl(victim_keys[0]) <= 120
    finally:
        r.close()
    assert count_rows(redis_cluster.db_url, "login_failures") == 0


@needs_redis
@pytest.mark.redis
def test_failed_client_secrets_counted_across_processes_in_redis(redis_cluster: Cluster):
    acct = redis_cluster.new_account()
    form = {"grant_type": "client_credentials"}
    with redis_cluster.clients(len(redis_cluster)) as cs:
        for c in cs[:MAX_FAILURES]:
            assert c.post("/token", auth=(acct.key, "wrongsecret"), data=form).status_code == 401
        for c in cs:
            assert c.post("/token", auth=acct.client_auth, data=form).status_code == 429


@needs_redis
@pytest.mark.redis
def test_revocation_immediate_with_redis(redis_cluster: Cluster):
    """Redis holds counters only: tokens are still checked in the database on every request."""
    acct = redis_cluster.new_account()
    pair = redis_cluster.password_grant(acct)
    with redis_cluster.clients(len(redis_cluster)) as cs:
        assert [me_status(c, pair["access_token"]) for c in cs] == [200] * len(cs)
        r = cs[1].post("/revoke", auth=acct.client_auth, data={"token": pair["access_token"]})
        assert r.status_code == 200
        assert [me_status(c, pair["access_token"]) for c in cs] == [401] * len(cs)


def test_unreachable_redis_answers_503(tmp_path: Path):
    # Port 1 on loopback: nothing listens there, so every connection is refused at once.
    env = {"AGAVE_SERVER_REDIS": "redis://127.0.0.1:1/0"}
    with ServerProcess(tmp_path, env=env) as srv:
        srv.add_user("alice", "pw-alice-1234")
        with srv.client() as c:
            r = c.get("/clients/v2", auth=("alice", "pw-alice-1234"))
            assert r.status_code == 503, r.text
            body = r.json()
            assert body["status"] == "error" and "Redis" in body["message"]
            assert r.headers["retry-after"] == "1"
            # The token endpoint checks the client's counter too: 503, not a 500 or a token.
            r = c.post(
                "/token", auth=("somekey", "somesecret"), data={"grant_type": "client_credentials"}
            )
            assert r.status_code == 503, r.text
            assert c.get("/health").status_code == 200
