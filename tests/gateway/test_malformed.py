"""The decision endpoint's odd inputs are all 4xx, and no path trick reaches another API."""

from __future__ import annotations

import httpx
import pytest

from tests.gateway.conftest import Gateway, bearer, new_app, raw_request, token_for


@pytest.fixture(scope="module")
def token(gateway: Gateway) -> str:
    return token_for(gateway, new_app(gateway))["access_token"]


def _decide(gateway: Gateway, headers: list[tuple[str, str]]) -> httpx.Response:
    return httpx.get(gateway.servers[0].base_url + "/gateway/decide", headers=headers, timeout=30)


def _assert_refused(r: httpx.Response, status: int) -> None:
    assert r.status_code in (401, 403), (r.status_code, r.text)
    assert r.headers["x-agave-status"] == str(status), r.headers
    assert r.json()["fault"]["code"]
    assert r.text == r.headers["x-agave-fault"]


BASE = [("X-Agave-Tenant", "sd2e"), ("X-Agave-Api", "/jobs/v2")]


@pytest.mark.parametrize(
    "headers",
    [
        [("X-Original-Method", "GET")],  # no original URI
        [("X-Original-URI", "/jobs/v2/x")],  # no original method
        [("X-Original-Method", "GET"), ("X-Original-URI", "/jobs/v2/a"), ("X-Original-URI", "/b")],
        [
            ("X-Original-Method", "GET"),
            ("X-Original-Method", "PUT"),
            ("X-Original-URI", "/jobs/v2"),
        ],
        [("X-Original-Method", "get me"), ("X-Original-URI", "/jobs/v2/x")],
        [("X-Original-Method", "GET"), ("X-Original-URI", "jobs/v2/x")],
        [("X-Original-Method", "GET"), ("X-Original-URI", "")],
        [("X-Original-Method", "GET"), ("X-Original-URI", "/jobs/v2/" + "a" * 5000)],
    ],
)
def test_missing_repeated_or_bad_inputs_are_400(gateway: Gateway, token: str, headers) -> None:
    _assert_refused(_decide(gateway, [*BASE, ("Authorization", f"Bearer {token}"), *headers]), 400)


@pytest.mark.parametrize(
    "uri",
    [
        "/files/v2/../jobs/v2/x",
        "/jobs/v2/../jobs/v2/x",
        "/jobs/v2/%2e%2e/files/v2/x",
        "/jobs/v2/%2E%2E/%2e%2E/files",
        "/jobs/v2/./x",
        "/jobs/v2/%2e/x",
        "//jobs/v2/x",
        "/jobs/v2//x",
        "/jobs/v2/a%2fb",
        "/jobs/v2/a%5cb",
        "/jobs/v2/a\\b",
        "/jobs/v2/%00",
        "/jobs/v2/%ff%fe",
        "/jobs/v2/..;/files/v2/x",
        "/jobs/v2/%252e%252e/files/v2/x",
        "/jobs/v2/a%252fb",
    ],
)
def test_paths_not_in_normal_form_are_400(gateway: Gateway, token: str, uri: str) -> None:
    headers = [*BASE, ("Authorization", f"Bearer {token}"), ("X-Original-Method", "GET")]
    _assert_refused(_decide(gateway, [*headers, ("X-Original-URI", uri)]), 400)


def test_api_and_tenant_inputs(gateway: Gateway, token: str) -> None:
    auth = ("Authorization", f"Bearer {token}")
    original = [("X-Original-Method", "GET"), ("X-Original-URI", "/files/v2/x")]
    # The location fixed Jobs, the path is Files': not this API's path.
    _assert_refused(_decide(gateway, [*BASE, auth, *original]), 404)
    unknown_api = [("X-Agave-Tenant", "sd2e"), ("X-Agave-Api", "/nope/v2"), auth, *original]
    _assert_refused(_decide(gateway, unknown_api), 400)
    unknown_tenant = [("X-Agave-Tenant", "nope"), ("X-Agave-Api", "/files/v2"), auth, *original]
    _assert_refused(_decide(gateway, unknown_tenant), 400)
    # Without a fixed API the path chooses; a path under none is 404.
    free = [("X-Agave-Tenant", "sd2e"), auth, ("X-Original-Method", "GET")]
    assert _decide(gateway, [*free, ("X-Original-URI", "/files/v2/x?a=1")]).status_code == 200
    _assert_refused(_decide(gateway, [*free, ("X-Original-URI", "/filesv2/x")]), 404)


def test_huge_headers_are_4xx(gateway: Gateway, token: str) -> None:
    huge = [*BASE, ("X-Original-Method", "GET"), ("X-Original-URI", "/jobs/v2/" + "a" * 70000)]
    r = _decide(gateway, huge)
    assert 400 <= r.status_code < 500
    r = _decide(
        gateway,
        [
            *BASE,
            ("X-Original-Method", "GET"),
            ("X-Original-URI", "/jobs/v2/"),
            ("Authorization", "Bearer " + "A" * 10000),
        ],
    )
    assert r.status_code == 401
    with gateway.http() as http:
        r = http.get("/echo/v2/x", headers={"Authorization": "Bearer " + "A" * 20000})
        assert 400 <= r.status_code < 500


@pytest.fixture(scope="module")
def files_not_echo(gateway: Gateway) -> str:
    """A token whose client is subscribed to Files but not to Echo (whose backend echoes)."""
    app = new_app(gateway)
    with gateway.http() as http:
        r = http.request(
            "DELETE",
            f"/clients/v2/{app.name}/subscriptions",
            params={"apiName": "Echo"},
            auth=app.user.auth,
        )
        assert r.status_code == 200
    return token_for(gateway, app)["access_token"]


@pytest.mark.parametrize(
    "target",
    [
        "/files/v2/../echo/v2/x",
        "/files/v2/%2e%2e/echo/v2/x",
        "/files/v2/%2E%2E/%2e%2e/echo/v2/x",
        "/jobs/v2/../../echo/v2/x",
        "//echo/v2/x",
        "/echo//v2/x",
        "/echo/v2/./x",
        "/files/v2/..%2fecho/v2/x",
        "/files/v2/%2fecho/v2/x",
        "/../echo/v2/x",
        "/echo/v2/x%00",
        "/files/v2/..;/echo/v2/x",
        "/files/v2/%252e%252e/echo/v2/x",
    ],
)
def test_path_tricks_through_nginx_never_reach_the_wrong_backend(
    gateway: Gateway, files_not_echo: str, target: str
) -> None:
    status, body = raw_request(gateway.nginx_port, target, bearer(files_not_echo))
    assert 400 <= status < 500, (target, status, body)
    assert '"backend": "echo"' not in body
