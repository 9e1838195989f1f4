"""``/health/ready``: 200 with each check's status when the database (and Redis) answer, 503
when one does not; ``/health`` stays the bare liveness answer."""

from __future__ import annotations

import os
import time

import httpx
import pytest

from tests.ops.conftest import json_log
from tests.support.server import free_port


def test_ready_with_the_database(make_server) -> None:
    srv = make_server()
    res = httpx.get(srv.base_url + "/health/ready", timeout=30)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["status"] == "ready" and body["checks"]["database"]["status"] == "ok"
    # LDAP is always asked about: a tenant may be pointed at a directory while serving.
    assert set(body["checks"]) == {"database", "ldap"}
    assert body["checks"]["ldap"]["status"] == "ok"
    assert res.headers["cache-control"] == "no-store"
    assert httpx.get(srv.base_url + "/health").json() == {"status": "ok"}


def test_redis_down_is_503_and_logged_with_the_request_id(make_server) -> None:
    closed = free_port()  # nothing listens there
    srv = make_server(
        env={
            "AGAVE_SERVER_REDIS": f"redis://127.0.0.1:{closed}/0",
            "AGAVE_SERVER_READY_TIMEOUT": "3",
            "AGAVE_SERVER_LOG_FORMAT": "json",
        }
    )
    started = time.monotonic()
    res = httpx.get(srv.base_url + "/health/ready", timeout=30)
    assert time.monotonic() - started < 10
    assert res.status_code == 503, res.text
    body = res.json()
    assert body["status"] == "unavailable"
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["redis"]["status"] == "fail"
    assert str(closed) not in res.text  # no addresses in the public answer
    assert httpx.get(srv.base_url + "/health").status_code == 200

    # A request that needs Redis: 503, and the server's warning carries its request id.
    token = httpx.post(
        srv.base_url + "/token",
        auth=("nokey", "nosecret"),
        data={"grant_type": "client_credentials"},
        headers={"X-Request-ID": "redis-down-1"},
        timeout=30,
    )
    assert token.status_code == 503
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [e for e in json_log(srv.log_path) if e.get("request_id") == "redis-down-1"]
        if any(e["level"] == "warning" for e in lines):
            break
        time.sleep(0.1)
    assert any(e["level"] == "warning" and "redis" in e["message"] for e in lines), lines


@pytest.mark.skipif(not os.environ.get("AGAVE_TEST_REDIS_URL"), reason="AGAVE_TEST_REDIS_URL unset")
def test_ready_with_redis(make_server) -> None:
    srv = make_server(env={"AGAVE_SERVER_REDIS": os.environ["AGAVE_TEST_REDIS_URL"]})
    res = httpx.get(srv.base_url + "/health/ready", timeout=30)
    assert res.status_code == 200, res.text
    assert res.json()["checks"]["redis"]["status"] == "ok"
