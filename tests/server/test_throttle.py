"""Brute-force protection: failed logins and client secrets are throttled (429 + Retry-After)."""

from __future__ import annotations

import time

from tests.conftest import User
from tests.server.conftest import create_client


def test_failed_logins_are_throttled_per_account(make_server):
    srv = make_server(
        env={"AGAVE_SERVER_LOGIN_MAX_FAILURES": "3", "AGAVE_SERVER_LOGIN_WINDOW": "4"}
    )
    victim, other = User("victim", "pw-victim"), User("other", "pw-other")
    for u in (victim, other):
        srv.add_user(u.username, u.password)
    with srv.client() as http:
        client = create_client(http, victim)
        for _ in range(3):
            assert http.get("/clients/v2", auth=(victim.username, "guess")).status_code == 401
        r = http.get("/clients/v2", auth=victim.auth)  # even the right password waits
        assert r.status_code == 429
        assert int(r.headers["retry-after"]) >= 1
        assert "Too many failed login attempts" in r.json()["message"]
        r = http.post(
            "/token",
            auth=client.auth,
            data={
                "grant_type": "password",
                "username": victim.username,
                "password": victim.password,
            },
        )
        assert r.status_code == 429 and r.json()["error"] == "invalid_request"
        assert "retry-after" in r.headers
        # Another account is not affected.
        assert http.get("/clients/v2", auth=other.auth).status_code == 200
        time.sleep(int(r.headers["retry-after"]) + 0.5)
        assert http.get("/clients/v2", auth=victim.auth).status_code == 200


def test_failed_client_secrets_are_throttled(make_server):
    srv = make_server(env={"AGAVE_SERVER_LOGIN_MAX_FAILURES": "2"})
    u = User("owner", "pw-owner")
    srv.add_user(u.username, u.password)
    with srv.client() as http:
        client = create_client(http, u)
        data = {"grant_type": "client_credentials"}
        for _ in range(2):
            r = http.post("/token", auth=(client.key, "wrongsecret"), data=data)
            assert r.status_code == 401
        r = http.post("/token", auth=client.auth, data=data)
        assert r.status_code == 429 and "client authentication" in r.json()["error_description"]


def _three_per_address(make_server):
    """A server that blocks an address after 3 failures (an account only after 50)."""
    return make_server(
        env={
            "AGAVE_SERVER_LOGIN_MAX_FAILURES": "50",
            "AGAVE_SERVER_LOGIN_MAX_FAILURES_PER_ADDRESS": "3",
        }
    )


def test_failures_are_counted_per_address_too(make_server):
    srv = _three_per_address(make_server)
    u = User("someone", "pw-someone")
    srv.add_user(u.username, u.password)
    with srv.client() as http:
        for name in ("a1", "a2", "a3"):
            assert http.get("/clients/v2", auth=(name, "guess")).status_code == 401
        # The address is blocked, whichever account it tries next.
        assert http.get("/clients/v2", auth=u.auth).status_code == 429


def test_client_authentication_is_throttled_per_address_on_every_endpoint(make_server):
    """Guessing secrets of unknown keys uses up the address's budget: then even a right
    secret of a real client from that address is refused, on the token, introspection and
    revocation endpoints alike (the client and both counters come from one read)."""
    srv = _three_per_address(make_server)
    u = User("owner2", "pw-owner2")
    srv.add_user(u.username, u.password)
    with srv.client() as http:
        client = create_client(http, u)
        token = http.post(
            "/token", auth=client.auth, data={"grant_type": "client_credentials"}
        ).json()["access_token"]
        introspected = http.post("/oauth2/introspect", auth=client.auth, data={"token": token})
        assert introspected.status_code == 200 and introspected.json()["active"] is True
        for key in ("nokey1", "nokey2", "nokey3"):
            r = http.post("/oauth2/introspect", auth=(key, "guess"), data={"token": token})
            assert r.status_code == 401
        for path, data in (
            ("/token", {"grant_type": "client_credentials"}),
            ("/oauth2/introspect", {"token": token}),
            ("/revoke", {"token": token}),
        ):
            r = http.post(path, auth=client.auth, data=data)
            assert r.status_code == 429, (path, r.status_code, r.text)
            assert "client authentication" in r.json()["error_description"]
            assert int(r.headers["Retry-After"]) > 0
