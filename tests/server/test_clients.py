"""/clients/v2: create, list, show, delete; names, tiers, envelope and isolation."""

from __future__ import annotations

import re

from tests.server.conftest import create_client, me, password_token

KEY_RE = re.compile(r"[A-Za-z0-9]{43,}")


def test_create_returns_secret_once_and_every_field(http, user, server):
    r = http.post(
        "/clients/v2",
        data={"clientName": "my_super_cool_client", "description": "my client's desciption"},
        auth=user.auth,
    )
    assert r.status_code == 201
    body = r.json()
    assert body["status"] == "success"
    assert body["message"] == "Client created successfully."
    assert body["version"]
    c = body["result"]
    assert c["name"] == "my_super_cool_client"
    assert c["description"] == "my client's desciption"
    assert c["tier"] == "Unlimited"
    assert c["callbackUrl"] == ""
    assert KEY_RE.fullmatch(c["consumerKey"]) and KEY_RE.fullmatch(c["consumerSecret"])
    base = server.base_url + "/"
    assert c["_links"] == {
        "self": {"href": base + "clients/v2/my_super_cool_client"},
        "subscriber": {"href": base + f"profiles/v2/{user.username}"},
        "subscriptions": {"href": base + "clients/v2/my_super_cool_client/subscriptions/"},
    }
    shown = http.get("/clients/v2/my_super_cool_client", auth=user.auth).json()["result"]
    assert "consumerSecret" not in shown
    assert shown["consumerKey"] == c["consumerKey"]
    listed = http.get("/clients/v2", auth=user.auth).json()["result"]
    assert [x["name"] for x in listed] == ["my_super_cool_client"]
    assert "consumerSecret" not in listed[0]


def test_json_body_with_name_alias_and_uppercase_tier(http, user):
    r = http.post(
        "/clients/v2",
        json={"name": "fromjson", "tier": "GOLD", "description": None},
        auth=user.auth,
    )
    assert r.status_code == 201, r.text
    c = r.json()["result"]
    assert (c["name"], c["tier"], c["description"]) == ("fromjson", "Gold", "")


def test_tiers_any_case(http, user):
    for i, tier in enumerate(["bronze", "SILVER", "Gold", "unLIMITED"]):
        r = http.post("/clients/v2", data={"clientName": f"t{i}", "tier": tier}, auth=user.auth)
        assert r.status_code == 201
        assert r.json()["result"]["tier"] == tier.capitalize()


def test_bad_tier_names_allowed_values(http, user):
    r = http.post("/clients/v2", data={"clientName": "x", "tier": "Platinum"}, auth=user.auth)
    assert r.status_code == 400
    body = r.json()
    assert body["status"] == "error" and body["result"] is None
    assert "Platinum" in body["message"] and "Unlimited" in body["message"]


def test_missing_and_invalid_names(http, user):
    r = http.post("/clients/v2", data={"description": "no name"}, auth=user.auth)
    assert r.status_code == 400 and "clientName" in r.json()["message"]
    for bad in ["has space", "slash/name", "x" * 65, "ünï"]:
        r = http.post("/clients/v2", data={"clientName": bad}, auth=user.auth)
        assert r.status_code == 400, bad
        assert "A-Z a-z 0-9 _ . -" in r.json()["message"]


def test_description_limits(http, user):
    r = http.post(
        "/clients/v2", data={"clientName": "d1", "description": "x" * 1001}, auth=user.auth
    )
    assert r.status_code == 400 and "description" in r.json()["message"]
    r = http.post("/clients/v2", data={"clientName": "d2", "description": "a\x00b"}, auth=user.auth)
    assert r.status_code == 400 and "control" in r.json()["message"]
    r = http.post(
        "/clients/v2", data={"clientName": "d3", "description": "ünïcødé ✓"}, auth=user.auth
    )
    assert r.status_code == 201 and r.json()["result"]["description"] == "ünïcødé ✓"


def test_duplicate_name_is_409(http, user, new_user):
    create_client(http, user, "dup")
    r = http.post("/clients/v2", data={"clientName": "dup"}, auth=user.auth)
    assert r.status_code == 409 and "dup" in r.json()["message"]
    # Names are per user: another user may use the same name.
    create_client(http, new_user(), "dup")


def test_delete_client_and_its_tokens_stop_working(http, user):
    client = create_client(http, user, "todelete")
    tokens = password_token(http, client)
    assert me(http, tokens["access_token"]).status_code == 200
    r = http.delete("/clients/v2/todelete", auth=user.auth)
    assert r.status_code == 200
    assert r.json()["message"] == "Client removed successfully."
    assert r.json()["result"] is None
    assert me(http, tokens["access_token"]).status_code == 401
    assert http.get("/clients/v2/todelete", auth=user.auth).status_code == 404
    assert http.delete("/clients/v2/todelete", auth=user.auth).status_code == 404


def test_isolation_between_users(http, new_user):
    alice, bob = new_user(), new_user()
    client = create_client(http, alice, "alices")
    for method, path in [
        ("GET", "/clients/v2/alices"),
        ("DELETE", "/clients/v2/alices"),
        ("GET", "/clients/v2/alices/subscriptions"),
        ("POST", "/clients/v2/alices/subscriptions"),
        ("DELETE", "/clients/v2/alices/subscriptions?apiName=*"),
    ]:
        data = {"apiName": "Apps"} if method == "POST" else None
        r = http.request(method, path, data=data, auth=bob.auth)
        assert r.status_code == 404, (method, path, r.text)
    assert http.get("/clients/v2", auth=bob.auth).json()["result"] == []
    # Bob cannot mint tokens for himself with Alice's client, even knowing its secret.
    r = http.post(
        "/token",
        data={"grant_type": "password", "username": bob.username, "password": bob.password},
        auth=client.auth,
    )
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert http.get("/clients/v2/alices", auth=alice.auth).status_code == 200


def test_envelope_parameters(http, user):
    for i in range(5):
        create_client(http, user, f"p{i}", description=f"d{i}")
    r = http.get("/clients/v2?limit=2&offset=1", auth=user.auth)
    assert [c["name"] for c in r.json()["result"]] == ["p1", "p2"]
    r = http.get("/clients/v2?naked=true&filter=name,tier", auth=user.auth)
    assert r.json()[0] == {"name": "p0", "tier": "Unlimited"}
    r = http.get("/clients/v2?pretty=true", auth=user.auth)
    assert r.text.startswith('{\n  "status": "success"')
    r = http.get("/clients/v2/p3?filter=description&naked=true", auth=user.auth)
    assert r.json() == {"description": "d3"}
    for bad in ["limit=-1", "limit=abc", "offset=x"]:
        r = http.get(f"/clients/v2?{bad}", auth=user.auth)
        assert r.status_code == 400 and bad.split("=")[0] in r.json()["message"]


def test_lenient_paths_without_redirects(http, user, server):
    create_client(http, user, "slashy")
    for path in ["/clients/v2/", "//clients//v2", "/clients/v2/slashy/", "//clients/v2//slashy//"]:
        # An absolute URL: httpx would read a relative "//x" as a host name.
        r = http.get(server.base_url + path, auth=user.auth)
        assert r.status_code == 200, path
    r = http.post("/clients/v2/", data={"clientName": "viaslash"}, auth=user.auth)
    assert r.status_code == 201
