"""/clients/v2/{name}/subscriptions: list, add (one API or *), remove (body or query string)."""

from __future__ import annotations

from agavepy.wire import DEFAULT_API_NAMES
from tests.server.conftest import create_client

DEFAULTS = list(DEFAULT_API_NAMES)


def names(http, user, client) -> list[str]:
    r = http.get(f"/clients/v2/{client.name}/subscriptions", auth=user.auth)
    assert r.status_code == 200
    return [s["apiName"] for s in r.json()["result"]]


def test_new_client_has_every_default_api(http, user, server):
    client = create_client(http, user)
    r = http.get(f"/clients/v2/{client.name}/subscriptions", auth=user.auth)
    subs = r.json()["result"]
    assert [s["apiName"] for s in subs] == DEFAULTS
    apps = subs[0]
    assert apps == {
        "apiName": "Apps",
        "apiVersion": "v2",
        "apiProvider": "admin",
        "apiContext": "/apps/v2",
        "apiStatus": "PUBLISHED",
        "tier": "Unlimited",
        "_links": apps["_links"],
    }
    assert set(apps["_links"]) == {"self", "api", "client"}
    assert all(v["href"].startswith(server.base_url + "/") for v in apps["_links"].values())


def test_unsubscribe_with_query_string_and_resubscribe(http, user):
    client = create_client(http, user)
    r = http.delete(
        f"/clients/v2/{client.name}/subscriptions",
        params={"apiName": "PublicKeys", "apiVersion": "v2", "apiProvider": "admin"},
        auth=user.auth,
    )
    assert r.status_code == 200, r.text
    assert [s["apiName"] for s in r.json()["result"]] == ["PublicKeys"]
    assert "PublicKeys" not in names(http, user, client)
    r = http.post(
        f"/clients/v2/{client.name}/subscriptions",
        data={"apiName": "PublicKeys", "apiVersion": "v2", "apiProvider": "admin"},
        auth=user.auth,
    )
    assert r.status_code == 200
    body = r.json()
    assert body["message"] == f"Client {client.name} has been subscribed to PublicKeys."
    assert [s["apiName"] for s in body["result"]] == ["PublicKeys"]
    assert "PublicKeys" in names(http, user, client)
    # Twice is not an error.
    r = http.post(
        f"/clients/v2/{client.name}/subscriptions", data={"apiName": "PublicKeys"}, auth=user.auth
    )
    assert r.status_code == 200


def test_unsubscribe_all_with_body_then_subscribe_all(http, user):
    client = create_client(http, user)
    r = http.request(
        "DELETE", f"/clients/v2/{client.name}/subscriptions", json={"apiName": "*"}, auth=user.auth
    )
    assert r.status_code == 200
    assert names(http, user, client) == []
    r = http.post(f"/clients/v2/{client.name}/subscriptions", json={"apiName": "*"}, auth=user.auth)
    assert r.status_code == 200
    assert r.json()["message"] == f"Client {client.name} has been subscribed to *."
    assert sorted(s["apiName"] for s in r.json()["result"]) == sorted(DEFAULTS)
    assert names(http, user, client) == DEFAULTS


def test_subscription_errors(http, user):
    client = create_client(http, user)
    url = f"/clients/v2/{client.name}/subscriptions"
    r = http.post(url, data={"apiName": "NoSuchApi"}, auth=user.auth)
    assert r.status_code == 400 and "NoSuchApi" in r.json()["message"]
    r = http.post(url, data={"apiName": "Apps", "apiVersion": "v9"}, auth=user.auth)
    assert r.status_code == 400
    r = http.post(url, data={}, auth=user.auth)
    assert r.status_code == 400 and "apiName" in r.json()["message"]
    r = http.delete(url, auth=user.auth)
    assert r.status_code == 400 and "apiName" in r.json()["message"]
    r = http.post(url, data={"apiName": "Apps", "tier": "Wood"}, auth=user.auth)
    assert r.status_code == 400 and "Wood" in r.json()["message"]
    r = http.get("/clients/v2/nosuchclient/subscriptions", auth=user.auth)
    assert r.status_code == 404


def test_subscriptions_paging(http, user):
    client = create_client(http, user)
    r = http.get(
        f"/clients/v2/{client.name}/subscriptions?limit=3&offset=2&filter=apiName", auth=user.auth
    )
    assert r.json()["result"] == [{"apiName": "Jobs"}, {"apiName": "Meta"}, {"apiName": "Monitors"}]


def test_operator_added_api(http, user, server):
    server.admin("apis", "add", "Tags", "--tenant", "sd2e")
    client = create_client(http, user)
    assert "Tags" not in names(http, user, client)  # not a default API
    r = http.post(
        f"/clients/v2/{client.name}/subscriptions", data={"apiName": "tags"}, auth=user.auth
    )
    assert r.status_code == 200
    sub = r.json()["result"][0]
    assert (sub["apiName"], sub["apiContext"]) == ("Tags", "/tags/v2")
    server.admin("apis", "remove", "Tags", "--tenant", "sd2e")
    assert "Tags" not in names(http, user, client)
