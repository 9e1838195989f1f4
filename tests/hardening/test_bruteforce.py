"""Brute force: failed passwords and client secrets are throttled.

Each test runs its own server with a small limit (``MAX_FAILURES`` in a
``WINDOW``-second window) so the shared server's generous defaults are never
disturbed. Failures are counted in the database, so the limit holds across
every process that serves the tenant: the cross-process test alternates
between two servers on one database. Distinct loopback source addresses
(127.0.0.N) stand for distinct attackers.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.conftest import User, unique_name
from tests.hardening.api import OAuthClient, create_client, password_grant
from tests.hardening.conftest import client_from
from tests.support.server import ServerProcess

MAX_FAILURES = 3
PER_ADDRESS = 2 * MAX_FAILURES
# Windows are fixed (they start at the first failure), so every failure a test counts must
# land inside one window even on a slow machine; only tests that wait for the end use WINDOW.
WINDOW = 10
LONG_WINDOW = 120
LIMITS = {
    "AGAVE_SERVER_LOGIN_MAX_FAILURES": str(MAX_FAILURES),
    "AGAVE_SERVER_LOGIN_MAX_FAILURES_PER_ADDRESS": str(PER_ADDRESS),
    "AGAVE_SERVER_LOGIN_WINDOW": str(WINDOW),
}
LONG_LIMITS = {**LIMITS, "AGAVE_SERVER_LOGIN_WINDOW": str(LONG_WINDOW)}


def _new_user(srv: ServerProcess) -> User:
    user = User(unique_name("bf"), "pw-" + unique_name())
    srv.add_user(user.username, user.password)
    return user


def _wrong(user: User) -> tuple[str, str]:
    return (user.username, user.password + "-wrong")


def assert_throttled(res: httpx.Response, window: int = WINDOW) -> None:
    assert res.status_code == 429, (res.status_code, res.text)
    retry_after = int(res.headers["Retry-After"])
    assert 1 <= retry_after <= window + 1
    body = res.json()
    text = str(body.get("message") or body.get("error_description") or "")
    assert "too many" in text.lower() or "try again" in text.lower(), body


@pytest.fixture
def throttled(make_server) -> ServerProcess:
    return make_server(env=LIMITS)


def test_basic_auth_failures_lock_the_username(
    throttled: ServerProcess, source_address: Callable[[], str]
) -> None:
    victim, bystander = _new_user(throttled), _new_user(throttled)
    with client_from(throttled, source_address()) as attacker:
        for _ in range(MAX_FAILURES):
            assert attacker.get("/clients/v2", auth=_wrong(victim)).status_code == 401
        assert_throttled(attacker.get("/clients/v2", auth=_wrong(victim)))
        # The right password does not get through while the lock holds...
        assert_throttled(attacker.get("/clients/v2", auth=victim.auth))
    # ...from anywhere: the lock is on tenant + username.
    with client_from(throttled, source_address()) as elsewhere:
        assert_throttled(elsewhere.get("/clients/v2", auth=victim.auth))
        # Other users are unaffected.
        assert elsewhere.get("/clients/v2", auth=bystander.auth).status_code == 200
    time.sleep(WINDOW + 0.5)
    with client_from(throttled, source_address()) as later:
        assert later.get("/clients/v2", auth=victim.auth).status_code == 200


def test_password_grant_failures_are_throttled(
    throttled: ServerProcess, source_address: Callable[[], str]
) -> None:
    attacker_account, victim = _new_user(throttled), _new_user(throttled)
    with client_from(throttled, source_address()) as http:
        attackers_client = create_client(http, attacker_account)
        victims_client = create_client(http, victim)
    wrong = User(victim.username, victim.password + "-wrong")
    with client_from(throttled, source_address()) as attacker:
        for _ in range(MAX_FAILURES):
            res = password_grant(attacker, attackers_client, wrong)
            assert res.status_code == 400 and res.json()["error"] == "invalid_grant"
        assert_throttled(password_grant(attacker, attackers_client, wrong))
    with client_from(throttled, source_address()) as elsewhere:
        # The lock is on the account: the victim's own client is locked out too...
        assert_throttled(password_grant(elsewhere, victims_client, victim))
        # ...and nobody else is.
        assert password_grant(elsewhere, attackers_client, attacker_account).status_code == 200
    time.sleep(WINDOW + 0.5)
    with client_from(throttled, source_address()) as later:
        assert password_grant(later, victims_client, victim).status_code == 200


def test_one_address_guessing_many_usernames_is_throttled(
    make_server, source_address: Callable[[], str]
) -> None:
    """Password spraying: a new username per guess still hits the per-address limit."""
    throttled = make_server(env=LONG_LIMITS)
    user = _new_user(throttled)
    spray = source_address()
    statuses: list[int] = []
    with client_from(throttled, spray) as attacker:
        for _ in range(PER_ADDRESS):
            res = attacker.get("/clients/v2", auth=(unique_name("ghost"), "guess"))
            statuses.append(res.status_code)
        assert set(statuses) == {401}, statuses
        assert_throttled(
            attacker.get("/clients/v2", auth=(unique_name("ghost"), "guess")), LONG_WINDOW
        )
        # A forged X-Forwarded-For from an untrusted peer does not reset the count.
        forged = attacker.get(
            "/clients/v2",
            auth=(unique_name("ghost"), "guess"),
            headers={"X-Forwarded-For": "203.0.113.9"},
        )
        assert_throttled(forged, LONG_WINDOW)
    # The real user, from an address that did nothing wrong, is fine.
    with client_from(throttled, source_address()) as honest:
        assert honest.get("/clients/v2", auth=user.auth).status_code == 200


def test_client_secret_failures_are_throttled(
    throttled: ServerProcess, source_address: Callable[[], str]
) -> None:
    owner = _new_user(throttled)
    with client_from(throttled, source_address()) as http:
        client = create_client(http, owner)
    guess = OAuthClient(client.name, client.key, "0" * len(client.secret))
    with client_from(throttled, source_address()) as attacker:
        for _ in range(MAX_FAILURES):
            res = password_grant(attacker, guess, owner)
            assert res.status_code == 401 and res.json()["error"] == "invalid_client"
        assert_throttled(password_grant(attacker, guess, owner))
        assert_throttled(password_grant(attacker, client, owner))
    time.sleep(WINDOW + 0.5)
    with client_from(throttled, source_address()) as later:
        assert password_grant(later, client, owner).status_code == 200


def test_the_count_is_shared_by_every_server_process(
    make_server, source_address: Callable[[], str]
) -> None:
    first = make_server(env=LONG_LIMITS, workers=2)
    second = make_server(env=LONG_LIMITS, db_url=first.db_url, tenants=())
    victim = _new_user(first)
    attacker = source_address()
    with client_from(first, attacker) as a, client_from(second, attacker) as b:
        for i in range(MAX_FAILURES):
            http = (a, b)[i % 2]
            # A fresh connection each time, so uvicorn's workers share the load too.
            res = http.get("/clients/v2", auth=_wrong(victim), headers={"Connection": "close"})
            assert res.status_code == 401
        assert_throttled(a.get("/clients/v2", auth=victim.auth), LONG_WINDOW)
        assert_throttled(b.get("/clients/v2", auth=victim.auth), LONG_WINDOW)
