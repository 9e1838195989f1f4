"""``PUT /clients/v2/{name}`` and ``POST /clients/v2/{name}/secret`` against the real server.

Both are extensions of the Agave wire: HTTP Basic with the user's password, the usual envelope,
errors that name the field and what is allowed, nothing half-written.
"""

from __future__ import annotations

import re

import pytest

from tests.server.conftest import create_client, me, password_token, refresh

KEY_RE = re.compile(r"[A-Za-z0-9]{43,}")


def test_update_sets_fields_and_answers_like_get(http, user):
    client = create_client(http, user, description="before")
    r = http.put(
        f"/clients/v2/{client.name}",
        data={"description": "after", "callbackUrl": "https://app.example.org/cb", "tier": "gold"},
        auth=user.auth,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["status"], body["message"]) == ("success", "Client updated.")
    updated = body["result"]
    assert updated == http.get(f"/clients/v2/{client.name}", auth=user.auth).json()["result"]
    assert updated["description"] == "after"
    assert updated["callbackUrl"] == "https://app.example.org/cb"
    assert updated["tier"] == "Gold"
    assert updated["consumerKey"] == client.key
    assert "consumerSecret" not in updated


def test_update_keeps_fields_not_given_and_clears_with_empty(http, user):
    client = create_client(
        http, user, description="keep me", callbackUrl="http://127.0.0.1:8765/cb", tier="Silver"
    )
    r = http.put(f"/clients/v2/{client.name}", json={"tier": "BRONZE"}, auth=user.auth)
    assert r.status_code == 200, r.text
    got = r.json()["result"]
    assert (got["description"], got["callbackUrl"], got["tier"]) == (
        "keep me",
        "http://127.0.0.1:8765/cb",
        "Bronze",
    )
    r = http.put(
        f"/clients/v2/{client.name}",
        json={"description": "", "callbackUrl": "", "clientName": client.name},
        auth=user.auth,
    )
    assert r.status_code == 200, r.text
    got = r.json()["result"]
    assert (got["description"], got["callbackUrl"], got["tier"]) == ("", "", "Bronze")


def test_post_logout_redirect_uri_is_set_checked_and_cleared(http, user):
    client = create_client(http, user)
    shown = http.get(f"/clients/v2/{client.name}", auth=user.auth).json()["result"]
    assert shown["postLogoutRedirectUri"] == ""  # present on every client, empty by default
    url = "https://hub.example.org/hub/logout"
    r = http.put(f"/clients/v2/{client.name}", json={"postLogoutRedirectUri": url}, auth=user.auth)
    assert r.status_code == 200, r.text
    assert r.json()["result"]["postLogoutRedirectUri"] == url
    r = http.put(
        f"/clients/v2/{client.name}",
        data={"postLogoutRedirectUri": "javascript:alert(1)"},
        auth=user.auth,
    )
    assert r.status_code == 400
    assert "postLogoutRedirectUri" in r.json()["message"]
    assert "http:// or https://" in r.json()["message"]
    r = http.put(f"/clients/v2/{client.name}", data={"postLogoutRedirectUri": ""}, auth=user.auth)
    assert r.json()["result"]["postLogoutRedirectUri"] == ""


def test_update_leaves_tokens_and_secret_working(http, user):
    client = create_client(http, user)
    pair = password_token(http, client)
    r = http.put(f"/clients/v2/{client.name}", data={"description": "x"}, auth=user.auth)
    assert r.status_code == 200
    assert me(http, pair["access_token"]).status_code == 200
    assert refresh(http, client, pair["refresh_token"]).status_code == 200


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://files.example.org/cb", "http:// or https://"),
        ("/relative/path", "http:// or https://"),
        ("app.example.org/cb", "http:// or https://"),
        ("https://", "http:// or https://"),
        ("https://app.example.org/cb#top", "#fragment"),
        ("https://app.example.org/a b", "http:// or https://"),
        ("https://app.example.org:notaport/cb", "http:// or https://"),
        ("https://app.example.org/\x01", "control characters"),
        ("https://x.org/" + "a" * 2100, "too long"),
    ],
)
def test_bad_callback_url_names_field_and_what_is_allowed(http, user, url, says):
    client = create_client(http, user, description="unchanged")
    r = http.put(
        f"/clients/v2/{client.name}",
        data={"callbackUrl": url, "description": "must not be written"},
        auth=user.auth,
    )
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["status"] == "error" and body["result"] is None
    assert "callbackUrl" in body["message"] and says in body["message"], body["message"]
    shown = http.get(f"/clients/v2/{client.name}", auth=user.auth).json()["result"]
    assert shown["description"] == "unchanged"  # nothing half-written


@pytest.mark.parametrize(
    ("data", "says"),
    [
        ({"tier": "Platinum"}, "Bronze, Silver, Gold, Unlimited"),
        ({"tier": ""}, "Bronze, Silver, Gold, Unlimited"),
        ({"description": "x" * 1001}, "at most 1000"),
        ({}, "Nothing to change"),
        ({"unknown": "field"}, "description, callbackUrl, tier, postLogoutRedirectUri"),
        ({"clientName": "another", "description": "x"}, "cannot be renamed"),
    ],
)
def test_bad_updates_are_400_with_a_clear_message(http, user, data, says):
    client = create_client(http, user)
    r = http.put(f"/clients/v2/{client.name}", data=data, auth=user.auth)
    assert r.status_code == 400, r.text
    assert says in r.json()["message"]


def test_update_and_reset_are_the_owners_only(http, new_user):
    alice, bob = new_user(), new_user()
    client = create_client(http, alice)
    for method, path, data in (
        ("PUT", f"/clients/v2/{client.name}", {"description": "mine now"}),
        ("POST", f"/clients/v2/{client.name}/secret", {}),
    ):
        r = http.request(method, path, data=data, auth=bob.auth)
        assert r.status_code == 404, r.text
        assert client.name in r.json()["message"]
        r = http.request(method, path, data=data)
        assert r.status_code == 401 and r.headers["WWW-Authenticate"].startswith("Basic")
        r = http.request(method, path, data=data, auth=(alice.username, "wrong"))
        assert r.status_code == 401
    assert password_token(http, client)  # alice's secret still works


def test_reset_secret_issues_new_secret_and_ends_old_tokens(http, user, server):
    client = create_client(http, user)
    other = create_client(http, user)
    pair = password_token(http, client)
    other_pair = password_token(http, other)
    r = http.post(f"/clients/v2/{client.name}/secret", auth=user.auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert "shown only now" in body["message"]
    result = body["result"]
    assert result["consumerKey"] == client.key
    assert KEY_RE.fullmatch(result["consumerSecret"]) and result["consumerSecret"] != client.secret
    assert result["_links"]["self"]["href"] == f"{server.base_url}/clients/v2/{client.name}"
    # The old secret, and every token issued with it, stop working at once.
    old = http.post(
        "/token",
        data={"grant_type": "password", "username": user.username, "password": user.password},
        auth=client.auth,
    )
    assert old.status_code == 401 and old.json()["error"] == "invalid_client"
    assert me(http, pair["access_token"]).status_code == 401
    client.secret = result["consumerSecret"]
    assert refresh(http, client, pair["refresh_token"]).status_code == 400
    # The new one works; the secret is never shown again; other clients are untouched.
    fresh = password_token(http, client)
    assert me(http, fresh["access_token"]).status_code == 200
    shown = http.get(f"/clients/v2/{client.name}", auth=user.auth).json()["result"]
    assert "consumerSecret" not in shown
    assert me(http, other_pair["access_token"]).status_code == 200


def test_reset_unknown_client_and_bad_name(http, user):
    r = http.post("/clients/v2/nosuchclient/secret", auth=user.auth)
    assert r.status_code == 404 and "nosuchclient" in r.json()["message"]
    r = http.put("/clients/v2/nosuchclient", data={"description": "x"}, auth=user.auth)
    assert r.status_code == 404


def test_new_operations_are_documented(http):
    spec = http.get("/openapi.json").json()
    put = spec["paths"]["/clients/v2/{name}"]["put"]
    # The user's password, or a token of `agave login` (the clients API accepts both).
    assert put["security"] == [{"basicAuth": []}, {"cliBearerAuth": []}]
    form = put["requestBody"]["content"]["application/x-www-form-urlencoded"]["schema"]
    assert set(form["properties"]) >= {
        "description",
        "callbackUrl",
        "tier",
        "postLogoutRedirectUri",
    }
    assert "post" in spec["paths"]["/clients/v2/{name}/secret"]
