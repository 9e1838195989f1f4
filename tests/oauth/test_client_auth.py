"""Client authentication on the token endpoint: HTTP Basic or client_secret_post, per tenant."""

from __future__ import annotations

from tests.oauth.conftest import Tenant


def test_client_secret_post_on_the_token_endpoint(a: Tenant) -> None:
    user = a.shared_user()
    client = a.client(user)
    data = {
        "grant_type": "password",
        "username": user.username,
        "password": user.password,
        "client_id": client.key,
        "client_secret": client.secret,
    }
    r = a.http.post("/token", data=data)
    assert r.status_code == 200, r.text
    assert a.me(r.json()["access_token"]).status_code == 200
    r = a.http.post("/token", data={**data, "client_secret": "wrong"})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = a.http.post("/token", data={**data, "client_id": ""})
    assert r.status_code == 401 and "client_id" in r.json()["error_description"]


def test_one_authentication_method_per_request(a: Tenant) -> None:
    client = a.client(a.shared_user())
    r = a.http.post(
        "/token",
        data={"grant_type": "client_credentials", "client_secret": client.secret},
        auth=client.auth,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert "one of them" in r.json()["error_description"]


def test_missing_credentials_say_both_ways(a: Tenant) -> None:
    r = a.http.post("/token", data={"grant_type": "client_credentials"})
    assert r.status_code == 401
    assert "client_secret" in r.json()["error_description"]
    assert "Basic" in r.json()["error_description"]


def test_clients_are_looked_up_in_the_requests_tenant(a: Tenant, b: Tenant) -> None:
    client = a.client(a.shared_user())
    assert a.token(client, "client_credentials")["access_token"]
    for auth in ({"auth": client.auth}, {}):
        data = {"grant_type": "client_credentials"}
        if not auth:
            data |= {"client_id": client.key, "client_secret": client.secret}
        r = b.http.post("/token", data=data, **auth)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
