"""/health, /token and /profiles/v2/me skip FastAPI's routing: same answers as any route."""

from __future__ import annotations

import httpx


def test_lenient_paths_reach_the_hot_handlers(http: httpx.Client, server) -> None:
    # Absolute URLs: httpx would read "//health" against a base URL as a host name.
    for path in ("/health", "/health/", "//health", "/health//"):
        r = http.get(server.base_url + path)
        assert (r.status_code, r.text) == (200, '{"status":"ok"}'), path
        assert r.headers["content-type"] == "application/json"
    for path in ("/profiles/v2/me", "/profiles/v2/me/", "//profiles//v2/me"):
        r = http.get(server.base_url + path, headers={"Authorization": "Bearer nosuchtoken"})
        assert r.status_code == 401, path
        assert r.json()["fault"]["code"] == "900901"


def test_other_methods_on_hot_paths_still_get_405_with_allow(http: httpx.Client) -> None:
    for method, path, allowed in (
        ("GET", "/token", "POST"),
        ("POST", "/health", "GET"),
        ("DELETE", "/profiles/v2/me", "GET"),
    ):
        r = http.request(method, path)
        assert r.status_code == 405, (method, path)
        assert r.headers["allow"] == allowed
        assert r.json()["status"] == "error"


def test_token_errors_are_oauth_bodies(http: httpx.Client) -> None:
    r = http.post("/token", data={"grant_type": "password"})
    assert r.status_code == 401
    assert r.json()["error"] == "invalid_client"
    r = http.post(
        "/token",
        content=b"x" * 70000,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 413


def test_openapi_still_documents_the_hot_operations(http: httpx.Client) -> None:
    paths = http.get("/openapi.json").json()["paths"]
    assert "get" in paths["/health"]
    assert "post" in paths["/token"]
    assert "get" in paths["/profiles/v2/me"]
    assert paths["/profiles/v2/me"]["get"]["security"] == [{"bearerAuth": []}]
