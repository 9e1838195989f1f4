"""Middleware that measures and logs every request: metrics, request id, request events.

``Observe`` is one pure-ASGI layer in the middleware list that both stacks (the hot paths and
FastAPI's) are built from, so ``/health`` and ``POST /token`` are counted like every other
route. Per request it looks up the route template (a dict hit for fixed paths), adds the
``X-Request-ID`` header, and records the answer in two pre-resolved metric children; the
request event (``--access-log``) is written only when asked for, since a log line costs more
than the rest of this together.

``PeerAddress`` is the outermost layer (``app.served_app``): it records the connection's own
peer address before uvicorn's proxy-header handling rewrites ``client`` from
``X-Forwarded-For``, because ``/metrics`` is allowed by the peer address, never by a header.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import ipaddress
import time
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from .. import logging as agave_logging
from .. import metrics
from ..storage.tenants import request_host_key
from .hot_paths import leaf_routes

PEER = "agave.peer"
UNKNOWN_ROUTE = metrics.OTHER
# Routes where the Basic username is a consumer key (the rest: a username).
_CLIENT_AUTH_ROUTES = frozenset({"/token", "/revoke", "/oauth2/introspect"})


class RouteTable:
    """Route templates of an app's routes, for labels: ``/clients/v2/{client_name}``.

    Fixed paths are one dict look-up; templated ones are matched by their regexes in
    registration order (as the router does). Anything else is ``other``, so a scanner's
    random paths never become label values.
    """

    def __init__(self, routes: Iterable) -> None:
        self._static: dict[str, str] = {}
        self._patterns: list[tuple[object, str]] = []
        for route in routes:
            path = getattr(route, "path", None)
            regex = getattr(route, "path_regex", None)
            if not isinstance(path, str) or regex is None:
                continue
            if "{" in path:
                if all(template != path for _, template in self._patterns):
                    self._patterns.append((regex, path))
            else:
                self._static.setdefault(path, path)

    def template(self, path: str) -> str:
        found = self._static.get(path)
        if found is not None:
            return found
        for regex, template in self._patterns:
            if regex.match(path):  # type: ignore[attr-defined]
                return template
        return UNKNOWN_ROUTE


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return value
    return None


def _basic_username(scope: Scope) -> str | None:
    """The username half of HTTP Basic credentials (never the password), if well formed."""
    value = _header(scope, b"authorization")
    if value is None or value[:6].lower() != b"basic ":
        return None
    try:
        decoded = base64.b64decode(value[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    username, colon, _password = decoded.partition(":")
    return username[:128] if colon and username else None


def _tenant_code(scope: Scope) -> str | None:
    app = scope.get("app")
    agave = getattr(getattr(app, "state", None), "agave", None)
    if agave is None:
        return None
    host = (_header(scope, b"host") or b"").decode("latin-1")
    try:
        tenant = agave.tenants.for_host(request_host_key(host, scope.get("scheme", "http")))
    except Exception:  # the log line must not fail the request; the database may be down
        return None
    return tenant.code if tenant is not None else None


class Observe:
    """Request id, metrics and (optionally) one log event per HTTP request."""

    def __init__(self, app: ASGIApp, log_requests: bool = False) -> None:
        self.app = app
        self.log_requests = log_requests
        self._routes: RouteTable | None = None

    def _table(self, scope: Scope) -> RouteTable:
        if self._routes is None:
            router = getattr(scope.get("app"), "router", None)
            self._routes = RouteTable(leaf_routes(getattr(router, "routes", [])))
        return self._routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = agave_logging.request_id_from(_header(scope, b"x-request-id"))
        echoed = (b"x-request-id", request_id.encode("ascii"))
        status = 500  # what uvicorn answers if the app raises before it starts a response

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # A new list: a Response's own header list must not grow.
                message["headers"] = [*message.get("headers", ()), echoed]
            await send(message)

        token = agave_logging.REQUEST_ID.set(request_id)
        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - start
            route = self._table(scope).template(scope["path"])
            metrics.observe_request(scope["method"], route, status, seconds)
            if self.log_requests:
                self._log(scope, route, status, seconds)
            agave_logging.REQUEST_ID.reset(token)

    def _log(self, scope: Scope, route: str, status: int, seconds: float) -> None:
        client = user = None
        if status != 401:  # a refused name may be a mistyped password: never log it
            name = _basic_username(scope)
            if route in _CLIENT_AUTH_ROUTES:
                client = name
            elif status < 400:
                user = name
        peer = scope.get("client")
        agave_logging.request_event(
            method=scope["method"],
            route=route,
            path=scope["path"][:200],
            http_version=scope.get("http_version", "1.1"),
            status=status,
            seconds=seconds,
            tenant=_tenant_code(scope),
            client=client,
            user=user,
            address=peer[0] if peer else None,
        )


async def flush_metrics_periodically() -> None:
    """Write this worker's request counts every ``metrics.FLUSH_SECONDS`` (app lifespan)."""
    while True:
        await asyncio.sleep(metrics.FLUSH_SECONDS)
        metrics.flush()


class PeerAddress:
    """Outermost layer: remember the TCP peer, then apply uvicorn's proxy-header handling."""

    def __init__(self, app: ASGIApp, trusted_proxies: str) -> None:
        self.app = ProxyHeadersMiddleware(app, trusted_hosts=trusted_proxies)  # type: ignore[arg-type]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            client = scope.get("client")
            scope[PEER] = client[0] if client else None
        await self.app(scope, receive, send)  # type: ignore[arg-type]


class AddressAllowList:
    """CIDRs (``AGAVE_SERVER_METRICS_ALLOW``) checked against addresses."""

    def __init__(self, cidrs: str) -> None:
        self._networks = [ipaddress.ip_network(c) for c in cidrs.split(",") if c]

    def allows(self, address: str | None) -> bool:
        if not address:
            return False
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        if ip.version == 6 and ip.ipv4_mapped is not None:
            ip = ip.ipv4_mapped
        return any(ip in network for network in self._networks)

    def allows_request(self, scope: Scope) -> bool:
        """The connection's peer must be allowed; so must the client a proxy forwarded for.

        A forwarded header can only take access away: a request from an allowed proxy on
        behalf of an outside client is refused as the outside client would be.
        """
        client = scope.get("client")
        forwarded_for = client[0] if client else None
        peer = scope.get(PEER, forwarded_for)
        if not self.allows(peer):
            return False
        return forwarded_for == peer or self.allows(forwarded_for)
