"""The hot operations, served without FastAPI's routing layers but behind the same middleware.

``GET /health``, ``POST /token`` and ``GET /profiles/v2/me`` are most of a tenant's traffic.
Through FastAPI about half of such a request is framework (telemetry, error and exit-stack
middleware, matching every route, solving dependencies; bench/NOTES.md item 3). A route whose
endpoint is marked ``@hot`` is looked up in a dict first and its handler called directly, with
the app's own exception handlers, so responses are identical.

Two rules keep the two ways in step:
- the table is derived from the marked routes (a hot endpoint is an ordinary FastAPI route,
  documented in ``/openapi.json``, that takes only the request; its path has no parameters);
- both stacks are built from ONE middleware list, the app's ``user_middleware`` (what
  ``add_middleware`` fills), so a middleware added anywhere runs on the hot paths too, once.
Every method a hot route declares is hot (the gateway decision declares HEAD too, which nginx
uses; the server leaves the body out). Everything else (other methods on these paths, a
``root_path``, every other route) goes through FastAPI as before. Both are built on the first
request, as Starlette builds its own stack, so middleware added before that is in both.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .envelope import error_envelope
from .middleware import lenient_path

Endpoint = Callable[[Request], Awaitable[Response]]
log = logging.getLogger("agave_server")
_HOT = "_agave_hot"


def hot(endpoint: Endpoint) -> Endpoint:
    """Mark a route's endpoint as hot (put it under the ``@router.<method>`` decorator)."""
    setattr(endpoint, _HOT, True)
    return endpoint


def leaf_routes(routes: list) -> Iterator[Any]:
    """Routes with a path and methods, looking inside included routers."""
    for route in routes:
        if getattr(route, "path_regex", None) is not None and getattr(route, "methods", None):
            yield route
        inner = getattr(route, "routes", None) or getattr(
            getattr(route, "original_router", None), "routes", None
        )
        if inner:
            yield from leaf_routes(inner)


def hot_table(routes: list) -> dict[tuple[str, str], Endpoint]:
    """``(method, path) -> endpoint`` for every route whose endpoint is marked hot."""
    table: dict[tuple[str, str], Endpoint] = {}
    for route in leaf_routes(routes):
        endpoint = getattr(route, "endpoint", None)
        if not getattr(endpoint, _HOT, False):
            continue
        if "{" in route.path:
            raise ValueError(f"hot route {route.path} has path parameters; hot paths are exact")
        for method in route.methods:
            table[(method, route.path)] = endpoint
    return table


class AgaveApp(FastAPI):
    """FastAPI plus a dict of (method, path) -> handler tried before the routing layers."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._hot: dict[tuple[str, str], Endpoint] | None = None
        self._hot_stack: ASGIApp | None = None

    @property
    def hot_routes(self) -> frozenset[tuple[str, str]]:
        """The (method, path) pairs served by the hot path (built on first use)."""
        return frozenset(self._hot_lookup())

    def _hot_lookup(self) -> dict[tuple[str, str], Endpoint]:
        if self._hot is None:
            self._hot = hot_table(self.router.routes)
        return self._hot

    def _build_hot_stack(self) -> ASGIApp:
        """The app's own middleware list, around the direct dispatch instead of the router."""
        app: ASGIApp = self._dispatch
        for cls, args, kwargs in reversed(self.user_middleware):
            app = cls(app, *args, **kwargs)
        return app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.root_path and not scope.get("root_path"):
            table = self._hot if self._hot is not None else self._hot_lookup()
            if table and (scope["method"], lenient_path(scope["path"])) in table:
                if self._hot_stack is None:
                    self._hot_stack = self._build_hot_stack()
                scope["app"] = self
                await self._hot_stack(scope, receive, send)
                return
        await super().__call__(scope, receive, send)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        table = self._hot or {}
        # The middleware (LenientPaths) has folded the path by now; fold it here otherwise.
        key = (scope["method"], scope["path"])
        endpoint = table.get(key) or table[(key[0], lenient_path(key[1]))]
        request = Request(scope, receive)
        try:
            response = await endpoint(request)
        except Exception as exc:  # mapped as FastAPI's handlers map it
            response = await self._handle(request, exc)
        await response(scope, receive, send)

    async def _handle(self, request: Request, exc: Exception) -> Response:
        """The app's exception handler for ``exc`` (nearest class), as FastAPI would pick it."""
        for cls in type(exc).__mro__:
            handler = self.exception_handlers.get(cls)
            if handler is not None:
                try:
                    return await handler(request, exc)  # type: ignore[misc]
                except Exception:  # a failing handler must not leak a trace
                    break
        log.error("unexpected error on %s %s", request.method, request.url.path, exc_info=exc)
        return error_envelope(500, "Internal server error; the server log has the details.")
