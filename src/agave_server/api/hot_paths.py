"""The three hot operations served without FastAPI's routing and middleware layers.

``GET /health``, ``POST /token`` and ``GET /profiles/v2/me`` are most of a tenant's traffic.
Through FastAPI about half of such a request is framework (telemetry, error and exit-stack
middleware, matching every route, solving dependencies; bench/NOTES.md item 3). ``AgaveApp``
looks the request up in a dict first and calls the same handler functions directly, behind the
same lenient-path rewrite and body limit, and with the app's own exception handlers, so
responses are identical. Everything else (other methods on these paths, HEAD, a ``root_path``,
every other route, ``/docs`` and ``/openapi.json``, which still documents these operations from
the FastAPI routes) goes through FastAPI as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .envelope import error_envelope
from .middleware import BodyLimit, lenient_path
from .observability import Observe

Endpoint = Callable[[Request], Awaitable[Response]]
log = logging.getLogger("agave_server")


class AgaveApp(FastAPI):
    """FastAPI plus a dict of (method, path) -> handler tried before the middleware stack."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self._hot: dict[tuple[str, str], Endpoint] = {}
        self._hot_stack: ASGIApp | None = None

    def serve_hot(self, method: str, path: str, endpoint: Endpoint, max_body_bytes: int) -> None:
        """Answer ``method path`` with ``endpoint`` directly (it stays a FastAPI route too)."""
        self._hot[(method, path)] = endpoint
        self._hot_stack = Observe(
            BodyLimit(self._dispatch, max_bytes=max_body_bytes),
            log_requests=self.state.agave.settings.access_log,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self._is_hot(scope):
            path = scope["path"]
            fixed = lenient_path(path)
            if (scope["method"], fixed) in self._hot:
                if fixed != path:  # as middleware.LenientPaths does
                    scope = dict(scope)
                    scope["path"] = fixed
                    scope["raw_path"] = fixed.encode("latin-1", "replace")
                scope["app"] = self
                await self._hot_stack(scope, receive, send)  # type: ignore[misc]
                return
        await super().__call__(scope, receive, send)

    def _is_hot(self, scope: Scope) -> bool:
        """Worth a look-up: HTTP, hot paths registered, no root path to strip first."""
        return (
            scope["type"] == "http"
            and self._hot_stack is not None
            and not self.root_path
            and not scope.get("root_path")
        )

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = self._hot[(scope["method"], scope["path"])]
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
