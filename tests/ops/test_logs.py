"""The JSON log: every line parses, request events carry id, tenant, route, status, duration
and client; the request id is echoed; no password, secret, token or Authorization value."""

from __future__ import annotations

import base64
import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import User, unique_name
from tests.hardening.api import create_client, login, pair_of, refresh_grant
from tests.ops.conftest import json_log
from tests.support.server import ServerProcess


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("logs"),
        env={"AGAVE_SERVER_ACCESS_LOG": "1", "AGAVE_SERVER_LOG_FORMAT": "json"},
    )
    with server:
        yield server


def events(srv: ServerProcess, request_id: str, wait: float = 10.0) -> list[dict]:
    """The log's events of one request (the event is written just after the response)."""
    deadline = time.monotonic() + wait
    while True:
        found = [e for e in json_log(srv.log_path) if e.get("request_id") == request_id]
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_request_id_is_echoed_and_logged(srv: ServerProcess) -> None:
    with srv.client() as http:
        mine = http.get("/health", headers={"X-Request-ID": "req-42.abc_DEF:1"})
        made = http.get("/health")
        odd = http.get("/health", headers={"X-Request-ID": "two words"})
        long = http.get("/health", headers={"X-Request-ID": "a" * 129})
    assert mine.headers["x-request-id"] == "req-42.abc_DEF:1"
    for res in (made, odd, long):
        assert res.headers["x-request-id"] not in ("", "two words", "a" * 129)
    assert len({made.headers["x-request-id"], odd.headers["x-request-id"]}) == 2
    (event,) = events(srv, "req-42.abc_DEF:1")
    assert event["route"] == "/health" and event["status"] == 200
    assert event["tenant"] == "sd2e" and event["method"] == "GET"
    assert isinstance(event["duration_ms"], float) and event["level"] == "info"
    assert events(srv, made.headers["x-request-id"])


def test_events_name_client_and_user_and_leak_no_secret(srv: ServerProcess) -> None:
    user = User(unique_name("log"), "pw-" + unique_name("Secret"))
    srv.add_user(user.username, user.password)
    with srv.client() as http:
        client = create_client(http, user)
        first = login(http, client, user)
        second = pair_of(refresh_grant(http, client, first.refresh))
        profile = http.get("/profiles/v2/me", headers={"Authorization": f"Bearer {second.access}"})
        assert profile.status_code == 200
        typo = user.password + "-typo"
        bad = http.get("/clients/v2", auth=(user.username, typo), headers={"X-Request-ID": "bad1"})
        assert bad.status_code == 401
        listed = http.get("/clients/v2", auth=user.auth, headers={"X-Request-ID": "list1"})
        assert listed.status_code == 200
        http.get("/profiles/v2/me", params={"access_token": second.access})
        token = http.post(
            "/token",
            auth=client.auth,
            data={"grant_type": "client_credentials"},
            headers={"X-Request-ID": "cc1"},
        )
        assert token.status_code == 200
        revoked = http.post(
            "/revoke",
            auth=client.auth,
            data={"token": second.refresh},
            headers={"X-Request-ID": "last1"},
        )
        assert revoked.status_code == 200
    assert events(srv, "last1")  # every request's event is in the log by now
    log = srv.log_path.read_bytes()
    basic = base64.b64encode(f"{client.key}:{client.secret}".encode()).decode()
    user_basic = base64.b64encode(f"{user.username}:{user.password}".encode()).decode()
    for secret in (
        user.password,
        typo,
        client.secret,
        first.access,
        first.refresh,
        second.access,
        second.refresh,
        token.json()["access_token"],
        basic,
        user_basic,
    ):
        assert secret.encode() not in log, "a secret is in the server log"
    assert b"Authorization" not in log and b"authorization" not in log

    (cc,) = events(srv, "cc1")
    assert cc["route"] == "/token" and cc["client"] == client.key and "user" not in cc
    (listing,) = events(srv, "list1")
    assert listing["user"] == user.username and listing["route"] == "/clients/v2"
    (refused,) = events(srv, "bad1")
    assert refused["status"] == 401 and "user" not in refused and "client" not in refused


def test_text_format_when_asked(make_server) -> None:
    srv = make_server(env={"AGAVE_SERVER_ACCESS_LOG": "1", "AGAVE_SERVER_LOG_FORMAT": "text"})
    httpx.get(srv.base_url + "/health", headers={"X-Request-ID": "text-1"})
    srv.stop()
    lines = [line for line in srv.log_path.read_text().splitlines() if "request_id=text-1" in line]
    assert len(lines) == 1, lines
    assert '"GET /health HTTP/1.1" 200' in lines[0] and "route=/health" in lines[0]
    assert not lines[0].startswith("{")
