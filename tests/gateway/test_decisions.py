"""What a caller gets through the gateway: 401, 403, 404 and 200 as WSO2's gateway gave them."""

from __future__ import annotations

import json

from agave_server import faults
from agavepy.agave import Agave
from tests.gateway.conftest import ASSERTION_HEADER, Gateway, bearer, new_app, token_for

INVALID = 'Bearer error="invalid_token"'


def _assert_invalid_credentials(r, api: str = "/jobs/v2") -> None:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"].startswith("application/json")
    # The same JSON /profiles/v2/me answers, byte for byte, with the API named.
    assert (
        r.content
        == json.dumps(faults.invalid_credentials(api, "v2"), separators=(",", ":")).encode()
    )
    assert r.headers["www-authenticate"] == INVALID


def test_missing_junk_and_malformed_tokens_are_401(gateway: Gateway) -> None:
    with gateway.http() as http:
        _assert_invalid_credentials(http.get("/jobs/v2/"))
        _assert_invalid_credentials(http.get("/jobs/v2/jobs", headers=bearer("junk0123")))
        _assert_invalid_credentials(http.get("/jobs/v2", headers={"Authorization": "Basic eDp5"}))
        _assert_invalid_credentials(http.get("/files/v2/x", headers=bearer("a.b.c")), "/files/v2")
        _assert_invalid_credentials(http.get("/jobs/v2/x", headers={"Authorization": "Bearer"}))


def test_same_fault_as_profiles_me(gateway: Gateway) -> None:
    with gateway.http() as http:
        me = http.get("/profiles/v2/me", headers=bearer("junk"))
        jobs = http.get("/profiles/v2/me".replace("profiles", "jobs"), headers=bearer("junk"))
    assert me.status_code == jobs.status_code == 401
    assert me.json()["fault"]["code"] == jobs.json()["fault"]["code"] == "900901"
    assert me.json()["fault"]["message"] == jobs.json()["fault"]["message"]


def test_valid_token_reaches_the_backend_as_its_user(gateway: Gateway) -> None:
    app = new_app(gateway, tier="Silver")
    token = token_for(gateway, app)["access_token"]
    with gateway.http() as http:
        r = http.get("/jobs/v2/listings?limit=3", headers=bearer(token))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "path": "/jobs/v2/listings",
        "user": app.user.username,
        "client": app.name,
        "tier": "Silver",
        "api": "/jobs/v2",
    }


def test_revoked_token_is_refused_at_once(gateway: Gateway) -> None:
    app = new_app(gateway)
    pair = token_for(gateway, app)
    with gateway.http() as http:
        assert http.get("/jobs/v2/", headers=bearer(pair["access_token"])).status_code == 200
        r = http.post("/revoke", data={"token": pair["access_token"]}, auth=app.auth)
        assert r.status_code == 200
        _assert_invalid_credentials(http.get("/jobs/v2/", headers=bearer(pair["access_token"])))


def test_expired_token_is_401(gateway: Gateway) -> None:
    """A token minted with a 3 s lifetime (a third process on the same database)."""
    app = new_app(gateway)
    short = gateway.short_lived_token(app)
    with gateway.http() as http:
        assert http.get("/jobs/v2/", headers=bearer(short.token)).status_code == 200
        short.wait_until_expired()
        _assert_invalid_credentials(http.get("/jobs/v2/", headers=bearer(short.token)))


def test_deleted_client_tokens_are_401(gateway: Gateway) -> None:
    app = new_app(gateway)
    token = token_for(gateway, app)["access_token"]
    with gateway.http() as http:
        assert http.delete(f"/clients/v2/{app.name}", auth=app.user.auth).status_code == 200
        _assert_invalid_credentials(http.get("/jobs/v2/", headers=bearer(token)))


def test_subscriptions_decide_what_a_token_reaches(gateway: Gateway, tmp_path) -> None:
    """Unsubscribed from Jobs: 403 there, 200 on Files; the seed's clients_subscribe: 200."""
    app = new_app(gateway)
    token = token_for(gateway, app)["access_token"]
    with gateway.http() as http:
        r = http.request(
            "DELETE",
            f"/clients/v2/{app.name}/subscriptions",
            params={"apiName": "Jobs", "apiVersion": "v2"},
            auth=app.user.auth,
        )
        assert r.status_code == 200, r.text
        denied = http.get("/jobs/v2/123", headers=bearer(token))
        assert denied.status_code == 403
        assert denied.json() == faults.forbidden("/jobs/v2", "v2")
        assert denied.headers["content-type"].startswith("application/json")
        assert http.get("/files/v2/listings", headers=bearer(token)).status_code == 200
        # Subscribed to Jobs v2 (again) only: v3 of the same API stays closed.
        assert http.get("/jobs/v3/x", headers=bearer(token)).status_code == 403
        ag = Agave(
            api_server=gateway.url,
            tenant_id="sd2e",
            username=app.user.username,
            password=app.user.password,
            api_key=app.key,
            api_secret=app.secret,
            client_name=app.name,
            cache_dir=tmp_path,
            prompt=False,
        )
        with ag:
            ag.clients_subscribe("Jobs", "v2", "admin", client_name=app.name)
        assert http.get("/jobs/v2/123", headers=bearer(token)).status_code == 200
        assert http.get("/jobs/v3/x", headers=bearer(token)).status_code == 403


def test_path_under_no_api_is_404(gateway: Gateway) -> None:
    app = new_app(gateway)
    token = token_for(gateway, app)["access_token"]
    with gateway.http() as http:
        for path in ("/nothing/v2/x", "/jobs/v2x", "/jobsv2/", "/"):
            r = http.get(path, headers=bearer(token))
            assert r.status_code == 404, (path, r.text)
            assert r.json()["fault"]["code"] == "404"


def test_tenant_endpoints_pass_through_and_private_ones_do_not(gateway: Gateway) -> None:
    with gateway.http() as http:
        tenants = http.get("/tenants")
        assert tenants.status_code == 200
        assert tenants.json()["result"][0]["baseUrl"] == gateway.url + "/"
        for private in ("/metrics", "/gateway/decide", "/docs", "/openapi.json", "/health"):
            r = http.get(private)
            assert r.status_code == 404, private
            assert r.json()["fault"]["code"] == "404"


def test_the_assertion_header_is_not_the_callers(gateway: Gateway) -> None:
    """What a caller sends as the assertion or as the decision's inputs is replaced."""
    app = new_app(gateway)
    token = token_for(gateway, app)["access_token"]
    with gateway.http() as http:
        r = http.get(
            "/echo/v2/look",
            headers={
                **bearer(token),
                ASSERTION_HEADER: "forged",
                "X-Original-URI": "/files/v2/x",
                "X-Agave-Api": "/files/v2",
                "X-Forwarded-For": "203.0.113.7",
            },
        )
    assert r.status_code == 200, r.text
    seen = r.json()
    headers = {k.lower(): v for k, v in seen["headers"]}
    names = [k.lower() for k, _ in seen["headers"]]
    assert seen["path"] == "/echo/v2/look"
    assert "authorization" not in headers  # the bearer token never reaches a backend
    assert token not in json.dumps(seen)
    assert names.count(ASSERTION_HEADER.lower()) == 1
    assert headers[ASSERTION_HEADER.lower()] != "forged"
    assert headers["x-forwarded-for"] == "127.0.0.1"
    assert headers["host"] == f"127.0.0.1:{gateway.nginx_port}"
