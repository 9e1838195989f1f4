"""/token (all four grants), rotation, reuse detection, /revoke, expiry, /profiles/v2/me."""

from __future__ import annotations

import time

import pytest

from tests.server.conftest import create_client, me, password_token, refresh

FAULT_401 = {
    "code": "900901",
    "message": "Invalid Credentials",
    "description": "Access failure for API: /profiles/v2, version: v2. Make sure you have "
    "given the correct access token",
}


def test_password_grant_answer_shape(http, user, server):
    client = create_client(http, user)
    r = http.post(
        "/token?pretty=true",
        data={
            "grant_type": "password",
            "username": user.username,
            "password": user.password,
            "scope": "PRODUCTION",
        },
        auth=client.auth,
    )
    assert r.status_code == 200
    assert r.text.startswith("{\n")
    t = r.json()
    assert set(t) == {"access_token", "refresh_token", "token_type", "expires_in", "scope"}
    assert t["token_type"] == "bearer" and t["expires_in"] == 14400 and t["scope"] == "default"
    assert t["access_token"].isalnum() and t["refresh_token"].isalnum()
    assert len(t["access_token"]) >= 43
    assert r.headers["cache-control"] == "no-store"


def test_profile_of_token_user(http, new_user):
    u = new_user(email="p@example.org", first_name="Pat", last_name="Doe")
    client = create_client(http, u)
    r = me(http, password_token(http, client)["access_token"])
    assert r.status_code == 200
    p = r.json()["result"]
    assert (p["username"], p["email"], p["first_name"], p["last_name"]) == (
        u.username,
        "p@example.org",
        "Pat",
        "Doe",
    )
    assert p["full_name"] == "Pat Doe"


def test_agave_cli_double_slash_token_url(http, user, server):
    client = create_client(http, user)
    t = password_token(http, client)
    r = http.post(
        server.base_url + "//token",
        data={"grant_type": "refresh_token", "refresh_token": t["refresh_token"]},
        auth=client.auth,
    )
    assert r.status_code == 200, r.text


def test_refresh_rotates_and_retires_old_pair(http, user):
    client = create_client(http, user)
    t1 = password_token(http, client)
    r = refresh(http, client, t1["refresh_token"])
    assert r.status_code == 200
    t2 = r.json()
    assert t2["token_type"] == "bearer" and t2["refresh_token"] != t1["refresh_token"]
    assert me(http, t1["access_token"]).status_code == 401
    assert me(http, t2["access_token"]).status_code == 200
    t3 = refresh(http, client, t2["refresh_token"]).json()
    assert me(http, t3["access_token"]).status_code == 200


def test_reusing_a_rotated_refresh_token_revokes_the_family(http, user):
    client = create_client(http, user)
    t1 = password_token(http, client)
    t2 = refresh(http, client, t1["refresh_token"]).json()
    t3 = refresh(http, client, t2["refresh_token"]).json()
    r = refresh(http, client, t1["refresh_token"])
    assert r.status_code == 400
    assert r.json()["error"] == "invalid_grant" and "already used" in r.json()["error_description"]
    assert me(http, t3["access_token"]).status_code == 401
    assert refresh(http, client, t3["refresh_token"]).status_code == 400
    # Another login is a new family and works.
    t4 = password_token(http, client)
    assert me(http, t4["access_token"]).status_code == 200


def test_refresh_token_of_another_client_is_rejected(http, user):
    a, b = create_client(http, user), create_client(http, user)
    t = password_token(http, a)
    r = refresh(http, b, t["refresh_token"])
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    # The failed attempt did not consume it.
    assert refresh(http, a, t["refresh_token"]).status_code == 200


def test_unknown_refresh_token(http, user):
    client = create_client(http, user)
    r = refresh(http, client, "nosuchtoken")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = http.post("/token", data={"grant_type": "refresh_token"}, auth=client.auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


def test_revoke_access_or_refresh_token(http, user):
    client = create_client(http, user)
    t = password_token(http, client)
    r = http.post("/revoke", data={"token": t["access_token"]}, auth=client.auth)
    assert r.status_code == 200
    assert me(http, t["access_token"]).status_code == 401
    assert refresh(http, client, t["refresh_token"]).status_code == 400
    t2 = password_token(http, client)
    r = http.post(
        "/revoke",
        data={"token": t2["refresh_token"], "token_type_hint": "refresh_token"},
        auth=client.auth,
    )
    assert r.status_code == 200
    assert me(http, t2["access_token"]).status_code == 401
    # RFC 7009: unknown tokens are fine.
    assert http.post("/revoke", data={"token": "unknown"}, auth=client.auth).status_code == 200
    assert http.post("/revoke", data={"token": "x!y"}, auth=client.auth).status_code == 200
    r = http.post("/revoke", data={}, auth=client.auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = http.post("/revoke", data={"token": t["access_token"]}, auth=(client.key, "wrong"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_revoke_someone_elses_token_is_refused(http, user):
    a, b = create_client(http, user), create_client(http, user)
    t = password_token(http, a)
    r = http.post("/revoke", data={"token": t["access_token"]}, auth=b.auth)
    assert r.status_code == 400
    assert me(http, t["access_token"]).status_code == 200


def test_client_credentials(http, user):
    client = create_client(http, user)
    r = http.post("/token", data={"grant_type": "client_credentials"}, auth=client.auth)
    assert r.status_code == 200, r.text
    t = r.json()
    assert "refresh_token" not in t and t["token_type"] == "bearer"
    assert me(http, t["access_token"]).json()["result"]["username"] == user.username


def test_admin_password_grant(http, new_user):
    admin, target, plain = new_user(admin=True), new_user(), new_user()
    client = create_client(http, admin)
    data = {
        "grant_type": "admin_password",
        "username": admin.username,
        "password": admin.password,
        "token_username": target.username,
        "scope": "PRODUCTION",
    }
    r = http.post("/token", data=data, auth=client.auth)
    assert r.status_code == 200, r.text
    assert me(http, r.json()["access_token"]).json()["result"]["username"] == target.username
    r = http.post("/token", data={**data, "token_username": "nosuchuser"}, auth=client.auth)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = http.post(
        "/token", data={k: v for k, v in data.items() if k != "token_username"}, auth=client.auth
    )
    assert r.status_code == 400 and "token_username" in r.json()["error_description"]
    # A non-admin cannot, even with their own client.
    own = create_client(http, plain)
    r = http.post(
        "/token",
        data={**data, "username": plain.username, "password": plain.password},
        auth=own.auth,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert "administrator" in r.json()["error_description"]


@pytest.mark.parametrize(
    ("data", "auth", "status", "error"),
    [
        ({"grant_type": "password", "username": "u", "password": "p"}, None, 401, "invalid_client"),
        (
            {"grant_type": "password", "username": "u", "password": "p"},
            ("k", "s"),
            401,
            "invalid_client",
        ),
        ({"grant_type": "implicit"}, "client", 400, "unsupported_grant_type"),
        ({}, "client", 400, "invalid_request"),
        ({"grant_type": "password", "password": "p"}, "client", 400, "invalid_request"),
        (
            {"grant_type": "password", "username": "u", "password": "bad"},
            "client",
            400,
            "invalid_grant",
        ),
    ],
)
def test_token_errors(http, user, data, auth, status, error):
    client = create_client(http, user)
    r = http.post("/token", data=data, auth=client.auth if auth == "client" else auth)
    assert r.status_code == status, r.text
    assert r.json()["error"] == error
    assert r.json()["error_description"]
    if status == 401:
        assert r.headers["www-authenticate"].startswith("Basic")


def test_token_errors_on_bad_bodies(http, user):
    client = create_client(http, user)
    r = http.post(
        "/token",
        content=b"{not json",
        headers={"Content-Type": "application/json"},
        auth=client.auth,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    r = http.post(
        "/token",
        content=b"grant_type=password",
        auth=client.auth,
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 415 and r.json()["error"] == "invalid_request"
    r = http.post(
        "/token",
        content=b"grant_type=password&grant_type=client_credentials",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        auth=client.auth,
    )
    assert r.status_code == 400 and "more than once" in r.json()["error_description"]


def test_token_accepts_json(http, user):
    client = create_client(http, user)
    r = http.post(
        "/token",
        json={"grant_type": "password", "username": user.username, "password": user.password},
        auth=client.auth,
    )
    assert r.status_code == 200


def test_profiles_faults(http, user):
    for headers in [
        {},
        {"Authorization": "Bearer nosuchtoken"},
        {"Authorization": "Basic eDp5"},
        {"Authorization": "Bearer a b"},
        {"Authorization": "Bearer"},
    ]:
        r = http.get("/profiles/v2/me", headers=headers)
        assert r.status_code == 401
        assert r.json() == {"fault": FAULT_401}
        assert r.headers["www-authenticate"] == 'Bearer error="invalid_token"'


def test_subscription_gate(http, user):
    client = create_client(http, user)
    t = password_token(http, client)
    r = http.delete(f"/clients/v2/{client.name}/subscriptions?apiName=Profiles", auth=user.auth)
    assert r.status_code == 200
    r = me(http, t["access_token"])
    assert r.status_code == 403
    assert r.json()["fault"]["code"] == "900908"
    assert r.json()["fault"]["message"] == "Resource forbidden"
    http.post(
        f"/clients/v2/{client.name}/subscriptions", data={"apiName": "Profiles"}, auth=user.auth
    )
    assert me(http, t["access_token"]).status_code == 200


def test_access_token_expiry(make_server, tmp_path):
    srv = make_server(env={"AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": "1"})
    srv.add_user("short", "pw-short")
    from tests.conftest import User

    u = User("short", "pw-short")
    with srv.client() as http:
        client = create_client(http, u)
        t = password_token(http, client)
        assert t["expires_in"] == 1
        deadline = time.monotonic() + 10
        while me(http, t["access_token"]).status_code == 200:
            assert time.monotonic() < deadline, "token did not expire"
            time.sleep(0.3)
        r = me(http, t["access_token"])
        assert r.status_code == 401 and r.json()["fault"]["code"] == "900901"
        # The refresh token outlives the access token.
        r = refresh(http, client, t["refresh_token"])
        assert r.status_code == 200


def test_refresh_token_expiry(make_server):
    srv = make_server(env={"AGAVE_SERVER_REFRESH_TOKEN_LIFETIME": "1"})
    srv.add_user("shortr", "pw-short")
    from tests.conftest import User

    u = User("shortr", "pw-short")
    with srv.client() as http:
        client = create_client(http, u)
        t = password_token(http, client)
        time.sleep(2.1)
        r = refresh(http, client, t["refresh_token"])
        assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
