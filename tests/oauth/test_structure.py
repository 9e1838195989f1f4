"""The structural rules of issue 11, checked on the real application object.

These build the app in-process (``create_app`` on a migrated SQLite file) because what they
check is how the app is assembled: which routes are hot, and that a middleware added after the
fact wraps the hot paths as well as FastAPI's. Everything else in tests/oauth talks HTTP to a
real server process.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from agave_server.app import create_app
from agave_server.config import Settings
from agave_server.oauth import registry
from agave_server.services import tenants
from agave_server.storage import Database, migrate


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    folder: Path = tmp_path_factory.mktemp("structure")
    settings = Settings.load(data_dir=folder, env={"AGAVE_SERVER_PURGE_INTERVAL": "0"})
    db = Database(settings.db_url)
    migrate(db)
    tenants.add(db, "t1", "T1", "http://testserver/")
    db.dispose()
    return settings


class CountingMiddleware:
    """Adds a header and counts the requests it saw (a stand-in for metrics or request ids)."""

    def __init__(self, app) -> None:
        self.app = app
        CountingMiddleware.seen = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        CountingMiddleware.seen.append(scope["path"])

        async def tagged(message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message["headers"], (b"x-counted", b"1")]}
            await send(message)

        await self.app(scope, receive, tagged)


def test_hot_table_is_derived_from_marked_routes(settings: Settings) -> None:
    app = create_app(settings)
    assert app.hot_routes == {
        ("GET", "/health"),
        ("POST", "/token"),
        ("GET", "/profiles/v2/me"),
        ("GET", "/gateway/decide"),
        ("HEAD", "/gateway/decide"),
        ("POST", "/oauth2/introspect"),
    }


def test_a_middleware_added_later_runs_on_hot_paths_once(settings: Settings) -> None:
    app = create_app(settings)
    app.add_middleware(CountingMiddleware)  # after create_app, as another module would
    with TestClient(app, base_url="http://testserver") as http:
        framework = app.middleware_stack  # built at startup; count what reaches it
        through_fastapi: list[str] = []

        async def counted(scope, receive, send) -> None:
            through_fastapi.append(scope["path"])
            await framework(scope, receive, send)

        app.middleware_stack = counted
        for method, path in (("GET", "/health"), ("GET", "http://testserver//profiles/v2/me/")):
            r = http.request(method, path, headers={"Authorization": "Bearer junk"})
            assert r.status_code in (200, 401), r.text
            assert r.headers.get("x-counted") == "1", path
        r = http.post("/token", data={"grant_type": "password"})
        assert r.status_code == 401 and r.headers.get("x-counted") == "1"
        # Hot requests skipped FastAPI's stack, not the middleware.
        assert through_fastapi == []
        assert CountingMiddleware.seen == ["/health", "//profiles/v2/me/", "/token"]
        r = http.get("/tenants")
        assert r.status_code == 200 and r.headers.get("x-counted") == "1"
        assert through_fastapi == ["/tenants"]
        assert len(CountingMiddleware.seen) == 4


def test_grant_types_come_from_one_list(settings: Settings) -> None:
    app = create_app(settings)
    body = app.openapi()["paths"]["/token"]["post"]["requestBody"]["content"]
    enum = body["application/x-www-form-urlencoded"]["schema"]["properties"]["grant_type"]
    assert enum["enum"] == list(registry.grant_types())
    from agave_server.api.routes import token

    assert registry.inline_grant_types() == token.INLINE_GRANTS
    assert set(registry.grant_types()) >= {"password", "refresh_token", "client_credentials"}


def test_authlib_triples_become_answers() -> None:
    from agave_server.oauth.answers import JsonAnswer, RedirectAnswer, from_triple

    redirect = from_triple(302, "", [("Location", "https://rp.example/cb?code=x"), ("X-A", "1")])
    assert redirect == RedirectAnswer("https://rp.example/cb?code=x", 302, (("X-A", "1"),))
    body = from_triple(400, {"error": "invalid_request"}, [("Cache-Control", "no-store")])
    assert body == JsonAnswer(400, {"error": "invalid_request"}, (("Cache-Control", "no-store"),))
    assert isinstance(from_triple(302, {}, []), JsonAnswer)  # a 3xx without Location is not


def test_pages_without_a_renderer_are_escaped_html() -> None:
    from agave_server.api.answers import plain_page

    page = plain_page(None, "error.html", {"title": "<b>x</b>", "message": "a & b"}, 400, {})
    assert page.status_code == 400 and page.media_type == "text/html"
    assert b"&lt;b&gt;x&lt;/b&gt;" in page.body and b"a &amp; b" in page.body


def test_oauth_request_sets_every_attribute_authlibs_request_sets() -> None:
    """``AgaveOAuth2Request`` sets Authlib's attributes itself (without its per-request https
    check); an Authlib release that adds one must not leave our requests without it."""
    from authlib.oauth2.rfc6749 import OAuth2Request

    from agave_server.oauth.requests import AgaveOAuth2Request, HttpInput
    from agave_server.storage.records import Tenant

    authlib_own = vars(OAuth2Request("POST", "https://example.org/token", headers={"A": "b"}))
    tenant = Tenant(1, "u", "t1", "T1", "http://testserver/", "testserver", "", "", "", 0)
    source = HttpInput("POST", "/token", tenant, headers={"A": "b"}, form={"grant_type": "x"})
    ours = vars(AgaveOAuth2Request(source, db=None, throttle=None))  # type: ignore[arg-type]
    assert set(authlib_own) <= set(ours)
    assert ours["method"] == "POST" and ours["uri"] == "/token"
    assert ours["headers"]["a"] == "b" and ours["payload"].grant_type == "x"
