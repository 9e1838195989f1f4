"""Malformed requests get a clear 4xx envelope (never a 500, never a stack trace)."""

from __future__ import annotations

import base64

import pytest


def basic(raw: bytes) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(raw).decode()}


@pytest.mark.parametrize(
    ("headers", "fragment"),
    [
        ({}, "Missing credentials"),
        ({"Authorization": "Basic !!!notbase64"}, "base64"),
        (basic(b"nocolon"), "':'"),
        (basic(b":password"), "empty user"),
        (basic(b"\xff\xfe:\xff"), "UTF-8"),
        # The clients API also takes the login's bearer token (agave login): a junk one is
        # refused as a token.
        ({"Authorization": "Bearer abc"}, "access token"),
        ({"Authorization": "Basic " + "A" * 5000}, "longer than"),
        (basic(b"nosuchuser:pw"), "Invalid username or password"),
    ],
)
def test_bad_basic_credentials(http, headers, fragment):
    r = http.get("/clients/v2", headers=headers)
    assert r.status_code == 401
    body = r.json()
    assert body["status"] == "error" and body["result"] is None
    assert fragment in body["message"]
    # Basic first (the old tools), and a Bearer challenge too: the clients API takes the
    # token of `agave login` (RFC 7235 allows several challenges).
    assert r.headers["www-authenticate"].startswith('Basic realm="')
    if headers.get("Authorization", "").startswith("Bearer"):
        assert 'Bearer realm="' in r.headers["www-authenticate"]


def test_wrong_password(http, user):
    r = http.get("/clients/v2", auth=(user.username, "wrong"))
    assert r.status_code == 401 and "Invalid username or password" in r.json()["message"]


def test_content_types_and_bad_json(http, user):
    r = http.post(
        "/clients/v2",
        content=b"clientName=x",
        auth=user.auth,
        headers={"Content-Type": "text/plain"},
    )
    assert r.status_code == 415 and "text/plain" in r.json()["message"]
    r = http.post(
        "/clients/v2", content=b"{bad", auth=user.auth, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and "JSON" in r.json()["message"]
    r = http.post("/clients/v2", json=["a"], auth=user.auth)
    assert r.status_code == 400 and "object" in r.json()["message"]
    r = http.post("/clients/v2", json={"clientName": {"x": 1}}, auth=user.auth)
    assert r.status_code == 400 and "clientName" in r.json()["message"]
    r = http.post(
        "/clients/v2",
        content=b"clientName=a&clientName=b",
        auth=user.auth,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400 and "more than once" in r.json()["message"]
    r = http.post(
        "/clients/v2",
        content=b"clientName=%ff",
        auth=user.auth,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 400


def test_oversized_body(http, user):
    big = "x" * 70000
    r = http.post("/clients/v2", data={"clientName": "big", "description": big}, auth=user.auth)
    assert r.status_code == 413
    assert r.json()["status"] == "error" and "65536" in r.json()["message"]
    r = http.post("/token", data={"grant_type": big})
    assert r.status_code == 413

    def chunks():
        for _ in range(20):
            yield b"y" * 5000

    r = http.post(
        "/clients/v2",
        content=chunks(),
        auth=user.auth,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


def test_unknown_route_and_method(http):
    r = http.get("/nowhere")
    assert r.status_code == 404
    assert r.json()["status"] == "error" and "/nowhere" in r.json()["message"]
    r = http.put("/clients/v2")
    assert r.status_code == 405 and r.json()["status"] == "error"
    assert r.headers["allow"] == "GET, POST"
    r = http.request("OPTIONS", "/clients/v2/x/subscriptions")
    assert r.status_code == 405 and r.headers["allow"] == "DELETE, GET, POST"


def test_envelope_flags_and_json_types_are_checked(http, user):
    for bad in ["pretty=maybe", "pretty=", "naked=1", "limit=", "limit=1&limit=2"]:
        r = http.get(f"/tenants?{bad}")
        assert r.status_code == 400, bad
        assert bad.split("=")[0] in r.json()["message"]
    r = http.get("/tenants?naked=TRUE")
    assert r.status_code == 200 and isinstance(r.json(), list)
    r = http.post("/clients/v2", json={"clientName": "n1", "description": 5}, auth=user.auth)
    assert r.status_code == 400 and "JSON string" in r.json()["message"]
    r = http.post("/clients/v2", json={"clientName": "n2", "unknownField": "x"}, auth=user.auth)
    assert r.status_code == 201


def test_health_and_openapi(http):
    assert http.get("/health").json() == {"status": "ok"}
    spec = http.get("/openapi.json").json()
    ops = {(path, method) for path, item in spec["paths"].items() for method in item}
    expected = {
        ("/health", "get"),
        ("/tenants", "get"),
        ("/tenants/{code}", "get"),
        ("/clients/v2", "get"),
        ("/clients/v2", "post"),
        ("/clients/v2/{name}", "get"),
        ("/clients/v2/{name}", "delete"),
        ("/clients/v2/{name}/subscriptions", "get"),
        ("/clients/v2/{name}/subscriptions", "post"),
        ("/clients/v2/{name}/subscriptions", "delete"),
        ("/token", "post"),
        ("/revoke", "post"),
        ("/profiles/v2/me", "get"),
    }
    assert expected <= ops
    create = spec["paths"]["/clients/v2"]["post"]
    assert set(create["requestBody"]["content"]) == {
        "application/x-www-form-urlencoded",
        "application/json",
    }
    assert "201" in create["responses"] and "401" in create["responses"]
    assert "422" not in create["responses"]
    for path, item in spec["paths"].items():
        for method, op in item.items():
            assert op["responses"], (path, method)
            for status, resp in op["responses"].items():
                content = resp["content"]
                # JSON everywhere, except Agave's PEM public key (text/plain).
                media = "application/json" if "application/json" in content else "text/plain"
                assert media == "application/json" or path == "/apim/v2/publickey", path
                schema = content[media]["schema"]
                assert schema, (path, method, status)
