"""Tier limits through the gateway: counted across processes, 429 900800 with Retry-After."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.gateway.conftest import Gateway, bearer, new_app, token_for
from tests.support.server import ServerProcess

ROUNDS = 8  # attempts to fit one burst into one second on a busy machine


def decide(server: ServerProcess, token: str, uri: str, api: str) -> httpx.Response:
    """The decision endpoint asked directly, as nginx's subrequest asks it."""
    return httpx.get(
        server.base_url + "/gateway/decide",
        headers={
            **bearer(token),
            "X-Original-Method": "GET",
            "X-Original-URI": uri,
            "X-Agave-Api": api,
            "X-Agave-Tenant": "sd2e",
        },
        timeout=30,
    )


def real_status(r: httpx.Response) -> int:
    return int(r.headers.get("x-agave-status", r.status_code))


def _start_of_a_second() -> float:
    """Sleep to just after a second boundary (windows are aligned to the period)."""
    t = time.time()
    time.sleep(1 - (t % 1) + 0.01)
    return time.time()


def burst(calls: list[Callable[[], httpx.Response]]) -> list[httpx.Response] | None:
    """All calls inside one one-second window, or None when the machine was too slow."""
    start = _start_of_a_second()
    answers = [call() for call in calls]
    return answers if int(time.time()) == int(start) else None


@pytest.fixture
def bronze_three_a_second(gateway: Gateway):
    gateway.admin("tiers", "set", "Bronze", "--tenant", "sd2e", "--limit", "3/second")
    yield
    gateway.admin("tiers", "set", "Bronze", "--tenant", "sd2e", "--limit", "default")


def test_tier_limit_is_shared_by_two_processes(gateway: Gateway, bronze_three_a_second) -> None:
    app = new_app(gateway, tier="Bronze")
    token = token_for(gateway, app)["access_token"]
    a, b = gateway.servers
    calls = [
        lambda srv=srv: decide(srv, token, "/jobs/v2/x", "/jobs/v2") for srv in (a, b, a, b, a)
    ]
    for _ in range(ROUNDS):  # running servers pick the new limit up within a few seconds
        answers = burst(calls)
        if answers and real_status(answers[-1]) == 429:
            break
    else:
        pytest.fail("the 3/second Bronze limit never refused a call")
    assert [real_status(r) for r in answers] == [200, 200, 200, 429, 429]
    refused = answers[3]
    assert refused.status_code == 403  # what nginx's auth_request can pass on
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["fault"]["code"] == "900800"
    assert refused.json()["fault"]["message"] == "Message throttled out"


def test_over_the_limit_through_nginx_then_served_again(
    gateway: Gateway, bronze_three_a_second
) -> None:
    app = new_app(gateway, tier="Bronze")
    token = token_for(gateway, app)["access_token"]
    with gateway.http() as http:
        calls = [lambda: http.get("/echo/v2/x", headers=bearer(token)) for _ in range(4)]
        for _ in range(ROUNDS):
            answers = burst(calls)
            if answers and answers[-1].status_code == 429:
                break
        else:
            pytest.fail("no 429 through the gateway")
        assert [r.status_code for r in answers] == [200, 200, 200, 429]
        throttled = answers[-1]
        assert throttled.headers["content-type"].startswith("application/json")
        assert throttled.json()["fault"]["code"] == "900800"
        wait = int(throttled.headers["retry-after"])
        assert 1 <= wait <= 1
        time.sleep(wait + 0.05)
        assert http.get("/echo/v2/x", headers=bearer(token)).status_code == 200


def test_the_stricter_of_client_and_subscription_tier_wins(
    gateway: Gateway, bronze_three_a_second
) -> None:
    """A Gold client whose Echo subscription is Bronze: Echo stops at 3, Jobs goes on."""
    app = new_app(gateway, tier="Gold")
    with gateway.http() as http:
        r = http.post(
            f"/clients/v2/{app.name}/subscriptions",
            data={"apiName": "Echo", "tier": "Bronze"},
            auth=app.user.auth,
        )
        assert r.status_code == 200, r.text
        # Subscribing again keeps the first subscription: drop and re-add it as Bronze.
        http.request(
            "DELETE",
            f"/clients/v2/{app.name}/subscriptions",
            params={"apiName": "Echo"},
            auth=app.user.auth,
        )
        r = http.post(
            f"/clients/v2/{app.name}/subscriptions",
            data={"apiName": "Echo", "tier": "Bronze"},
            auth=app.user.auth,
        )
        assert r.status_code == 200, r.text
    token = token_for(gateway, app)["access_token"]
    a, b = gateway.servers
    calls = [lambda srv=srv: decide(srv, token, "/echo/v2/", "/echo/v2") for srv in (a, b, a, b)]
    calls.append(lambda: decide(b, token, "/jobs/v2/", "/jobs/v2"))
    for _ in range(ROUNDS):
        answers = burst(calls)
        if answers and real_status(answers[3]) == 429:
            break
    else:
        pytest.fail("the Bronze subscription never refused a call")
    assert [real_status(r) for r in answers] == [200, 200, 200, 429, 200]


def test_tiers_cli(gateway: Gateway) -> None:
    listed = gateway.admin("tiers", "list", "--tenant", "sd2e", "--json").stdout
    assert '"name": "Unlimited"' in listed
    bad = gateway.admin(
        "tiers", "set", "Platinum", "--tenant", "sd2e", "--limit", "1/second", check=False
    )
    assert bad.returncode == 1 and "Platinum" in bad.stderr and "Traceback" not in bad.stderr
    bad = gateway.admin(
        "tiers", "set", "Gold", "--tenant", "sd2e", "--limit", "0/second", check=False
    )
    assert bad.returncode == 1 and "N/second" in bad.stderr
