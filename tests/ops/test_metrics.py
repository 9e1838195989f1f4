"""``/metrics`` with ``--workers 2``: exact counts after a known mix of requests, summed over
both workers (prometheus-client's multiprocess mode), labels only from known sets."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import User, unique_name
from tests.hardening.api import create_client, login, password_grant, refresh_grant
from tests.ops.conftest import delta, json_log, scrape, settled, value
from tests.support.server import ServerProcess

DURATION = "agave_server_request_duration_seconds_count"
GRANTS = "agave_server_token_grants_total"
KNOWN_ROUTES = {
    "/health",
    "/health/ready",
    "/metrics",
    "/token",
    "/revoke",
    "/tenants",
    "/tenants/{code}",
    "/profiles/v2/me",
    "/clients/v2",
    "/clients/v2/{name}",
    "/clients/v2/{name}/subscriptions",
    "other",
}


@pytest.fixture(scope="module")
def srv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = ServerProcess(
        tmp_path_factory.mktemp("metrics"),
        workers=2,
        env={
            "AGAVE_SERVER_ACCESS_LOG": "1",
            "AGAVE_SERVER_LOG_FORMAT": "json",
            "AGAVE_SERVER_LOGIN_MAX_FAILURES": "3",
            "AGAVE_SERVER_PURGE_INTERVAL": "1",
        },
    )
    with server:
        yield server


def test_counts_are_exact_across_two_workers(srv: ServerProcess) -> None:
    user = User(unique_name("met"), "pw-" + unique_name("Pw"))
    srv.add_user(user.username, user.password)
    with srv.client() as http:
        client = create_client(http, user)
        bearer = {"Authorization": f"Bearer {login(http, client, user).access}"}
    before = settled(srv)

    def call(method: str, path: str, **kw) -> httpx.Response:
        # A connection of its own each time: both workers get some of the requests.
        with httpx.Client(base_url=srv.base_url, timeout=30) as http:
            return http.request(method, path, **kw)

    for _ in range(17):
        assert call("GET", "/health").status_code == 200
    cc = {"grant_type": "client_credentials"}
    for _ in range(5):
        assert call("POST", "/token", auth=client.auth, data=cc).status_code == 200
    res = call("POST", "/token", auth=client.auth, data={"grant_type": "bogus-grant"})
    assert res.status_code == 400
    for n in range(4):
        assert call("GET", f"/no/such/path/{n}-{unique_name()}").status_code == 404
    assert call("GET", f"/clients/v2/{client.name}", auth=user.auth).status_code == 200
    for _ in range(2):  # the third hot path
        assert call("GET", "/profiles/v2/me", headers=bearer).status_code == 200
    # Three wrong secrets use up the client's budget (LOGIN_MAX_FAILURES=3); the fourth is 429.
    wrong = (client.key, client.secret + "x")
    for _ in range(3):
        assert call("POST", "/token", auth=wrong, data=cc).status_code == 401
    assert call("POST", "/token", auth=wrong, data=cc).status_code == 429

    after = settled(srv)
    assert delta(before, after, DURATION, method="GET", route="/health", status="200") == 17
    assert delta(before, after, DURATION, method="POST", route="/token", status="200") == 5
    assert delta(before, after, DURATION, method="POST", route="/token", status="400") == 1
    assert delta(before, after, DURATION, method="POST", route="/token", status="401") == 3
    assert delta(before, after, DURATION, method="POST", route="/token", status="429") == 1
    assert delta(before, after, DURATION, method="GET", route="other", status="404") == 4
    assert (
        delta(before, after, DURATION, method="GET", route="/clients/v2/{name}", status="200") == 1
    )
    me = {"method": "GET", "route": "/profiles/v2/me", "status": "200"}
    assert delta(before, after, DURATION, **me) == 2
    cc_grant = {"grant_type": "client_credentials"}
    assert delta(before, after, GRANTS, **cc_grant, outcome="issued") == 5
    assert delta(before, after, GRANTS, **cc_grant, outcome="invalid_client") == 3
    assert delta(before, after, GRANTS, **cc_grant, outcome="throttled") == 1
    assert delta(before, after, GRANTS, grant_type="other", outcome="unsupported_grant_type") == 1
    kind = {"kind": "client"}
    assert delta(before, after, "agave_server_login_failures_total", **kind) == 3
    assert delta(before, after, "agave_server_throttled_requests_total", **kind) == 1

    # The histogram is cumulative: its +Inf bucket holds every request.
    inf = {"method": "GET", "route": "/health", "status": "200", "le": "+Inf"}
    assert delta(before, after, "agave_server_request_duration_seconds_bucket", **inf) == 17

    # Both workers served some of them: the counts above are the sum of two processes.
    srv_log = json_log(srv.log_path)
    pids = {e["pid"] for e in srv_log if e.get("route") == "/health"}
    assert len(pids) == 2, pids


def test_labels_come_from_known_sets(srv: ServerProcess) -> None:
    with httpx.Client(base_url=srv.base_url, timeout=30) as http:
        http.get("/<script>/" + "A" * 300)
        http.request("BREW", "/health")
        http.post("/token", data={"grant_type": "x" * 100})
    samples = settled(srv)
    for (name, labels), _ in samples.items():
        labels = dict(labels)
        if "route" in labels:
            assert labels["route"] in KNOWN_ROUTES, (name, labels)
        if "method" in labels:
            assert labels["method"] in {"GET", "POST", "PUT", "DELETE", "HEAD", "other"}, labels
        if name == GRANTS:
            assert labels["grant_type"] in {
                "password",
                "refresh_token",
                "client_credentials",
                "admin_password",
                "authorization_code",
                "urn:ietf:params:oauth:grant-type:device_code",
                "other",
                "none",
            }, labels
        for text in labels.values():
            assert "script" not in text and "xxxx" not in text


def test_gauges_and_purge(srv: ServerProcess) -> None:
    """Pool capacity is summed over both workers; argon2 gauges settle at zero; the periodic
    purge counts exactly the pairs it deleted."""
    from agave_server.storage import Database

    user = User(unique_name("gau"), "pw-" + unique_name("Pw"))
    srv.add_user(user.username, user.password)
    with srv.client() as http:
        client = create_client(http, user)
        before = scrape(srv)
        pairs = [login(http, client, user) for _ in range(3)]
        for pair in pairs:
            assert http.post("/revoke", auth=client.auth, data={"token": pair.access}).is_success
        res = password_grant(http, client, user)
        assert res.status_code == 200
    one_worker = Database(srv.db_url).capacity
    deadline = time.monotonic() + 60
    while True:
        after = scrape(srv)
        purged = delta(before, after, "agave_server_tokens_purged_total")
        if purged >= 3 or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert purged == 3
    assert value(after, "agave_server_db_connections_max") == 2 * one_worker
    assert value(after, "agave_server_argon2_queue_depth") == 0
    assert value(after, "agave_server_argon2_in_progress") == 0
    assert value(after, "agave_server_db_connections_in_use") >= 0
    grants = delta(before, after, GRANTS, grant_type="password", outcome="issued")
    assert grants == 4


def test_refresh_outcomes(srv: ServerProcess) -> None:
    user = User(unique_name("ref"), "pw-" + unique_name("Pw"))
    srv.add_user(user.username, user.password)
    with srv.client() as http:
        client = create_client(http, user)
        pair = login(http, client, user)
        before = scrape(srv)
        assert refresh_grant(http, client, pair.refresh).status_code == 200
        assert refresh_grant(http, client, pair.refresh).status_code == 400  # reuse
    after = scrape(srv)
    refresh = {"grant_type": "refresh_token"}
    assert delta(before, after, GRANTS, **refresh, outcome="issued") == 1
    assert delta(before, after, GRANTS, **refresh, outcome="invalid_grant") == 1
