"""The ASGI application factory: wires settings, database, OAuth server and routes together.

``create_app()`` reads settings from the environment, which is how ``agave-server serve``
hands them to every uvicorn worker process. Nothing here runs migrations.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import random
from collections.abc import AsyncIterator

from anyio import to_thread
from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy.exc import OperationalError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import Request
from starlette.responses import Response

from . import __version__, access_log, metrics, readiness
from .api.context import AppState
from .api.envelope import error_envelope, oauth_error
from .api.hot_paths import AgaveApp, leaf_routes
from .api.middleware import BodyLimit, LenientPaths
from .api.observability import Observe, PeerAddress, flush_metrics_periodically
from .api.routes import (
    clients,
    device,
    discovery,
    health,
    introspection,
    keys,
    operations,
    profiles,
    tenants,
    token,
)
from .api.routes import gateway as gateway_route
from .config import Settings
from .errors import AgaveError
from .identity import secret_box as identity_secrets
from .oauth import AgaveAuthorizationServer, registry
from .oauth.keys import KeyRing, KeyUnavailable
from .security import configure_hashing, prepare_dummy_password_hash
from .services.throttle import LoginThrottle
from .storage import Database, housekeeping
from .storage import device_codes as device_code_store
from .storage import rate_counters as rate_store
from .storage import signing_keys as key_store
from .storage import throttle as throttle_store
from .storage import tokens as token_store
from .storage.batch import WriteBatcher
from .storage.database import POSTGRES_THREADS
from .storage.pair_writes import PairWriter
from .storage.tenants import TenantDirectory

log = logging.getLogger("agave_server")

DESCRIPTION = (
    "A self-hostable Agave tenant: OAuth clients, subscriptions, tokens and profiles, "
    "speaking the Agave v2 wire contract. Paths are matched leniently (a trailing slash is "
    "optional and repeated slashes are folded)."
)


def _allowed_methods(request: Request) -> list[str]:
    """Every method some route offers on this path (Starlette's 405 names only one route's)."""
    path = request.scope["path"]
    allowed: set[str] = set()
    for route in leaf_routes(request.app.router.routes):
        if route.path_regex.match(path):
            allowed |= set(route.methods)
    return sorted(allowed)


def _install_error_handlers(app: FastAPI) -> None:
    from .pages.render import not_found_page, wants_page

    @app.exception_handler(AgaveError)
    async def agave_error(request: Request, exc: AgaveError) -> Response:
        return error_envelope(exc.status, exc.message, exc.headers, request.query_params)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        if exc.status_code == 404 and wants_page(request):  # a person's browser: a page
            return not_found_page(request)
        if exc.status_code == 404:
            message = f"No such resource: {request.method} {request.url.path[:200]}"
        elif exc.status_code == 405:
            allowed = _allowed_methods(request)
            message = (
                f"Method {request.method} is not allowed on {request.url.path[:200]}; "
                f"use {', '.join(allowed)}."
            )
            return error_envelope(405, message, {"Allow": ", ".join(allowed)})
        else:
            message = str(exc.detail)
        return error_envelope(exc.status_code, message, getattr(exc, "headers", None))

    @app.exception_handler(KeyUnavailable)
    async def signing_key_unavailable(request: Request, exc: KeyUnavailable) -> Response:
        log.error("cannot sign on %s %s: %s", request.method, request.url.path, exc)
        return oauth_error(
            500,
            "server_error",
            "The server cannot use this tenant's signing key; the server log says why.",
        )

    @app.exception_handler(OperationalError)
    async def database_busy(request: Request, exc: OperationalError) -> Response:
        log.warning("database error on %s %s: %s", request.method, request.url.path, exc.orig)
        return error_envelope(
            503, "The database is busy or unavailable; retry in a moment.", {"Retry-After": "1"}
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return error_envelope(500, "Internal server error; the server log has the details.")


def _install_redis_error_handler(app: FastAPI) -> None:
    """Redis unreachable: 503 and retry, never a 500 and never a login let through unthrottled."""
    from redis.exceptions import RedisError

    @app.exception_handler(RedisError)
    async def redis_unavailable(request: Request, exc: RedisError) -> Response:
        log.warning("redis error on %s %s: %s", request.method, request.url.path, exc)
        return error_envelope(
            503,
            "The rate-limit store (Redis) is unavailable; retry in a moment.",
            {"Retry-After": "1"},
        )


def _install_openapi(app: FastAPI) -> None:
    def openapi() -> dict:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            schema.setdefault("components", {})["securitySchemes"] = {
                "basicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "the user's username and password",
                },
                "clientBasicAuth": {
                    "type": "http",
                    "scheme": "basic",
                    "description": "consumerKey and consumerSecret",
                },
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an access token from /token",
                },
                "cliBearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "an access token of `agave login` (client agave-cli)",
                },
            }
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def purge_browser_state(db: Database) -> tuple[int, int]:
    """Ended or expired browser sessions, and authorization codes past their replay window."""
    from .storage import authorization_codes, browser_sessions

    return browser_sessions.purge(db), authorization_codes.purge(db)


async def _purge_periodically(db: Database, settings: Settings) -> None:
    """Delete dead tokens now and then, so the table stays proportional to live tokens.

    Every process wakes up now and then (randomly spread), but only the one that claims the
    round in the database purges: once per interval for the whole deployment.
    """
    while True:
        await asyncio.sleep(min(settings.purge_interval, 60) * random.uniform(0.5, 1.5))
        try:
            if not await run_in_threadpool(
                housekeeping.claim, db, housekeeping.PURGE, settings.purge_interval
            ):
                continue
            counts = await run_in_threadpool(token_store.purge, db)
            metrics.tokens_purged(counts["removed"])
            await run_in_threadpool(throttle_store.purge, db, settings.login_window)
            await run_in_threadpool(key_store.purge, db)
            await run_in_threadpool(rate_store.purge, db)
            await run_in_threadpool(device_code_store.purge, db)
            await run_in_threadpool(purge_browser_state, db)
            log.info("purged %d dead tokens (%d remain)", counts["removed"], counts["remaining"])
        except Exception:
            log.exception("periodic purge failed; will retry")


def _lifespan(
    db: Database, settings: Settings, writes: WriteBatcher | None, pair_writes: PairWriter | None
):
    @contextlib.asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        db.own_loop_thread()
        if not db.is_sqlite:
            to_thread.current_default_thread_limiter().total_tokens = POSTGRES_THREADS
        task = None
        if settings.purge_interval:
            task = asyncio.create_task(_purge_periodically(db, settings))
        metrics.forget_dead_processes()
        flusher = asyncio.create_task(flush_metrics_periodically())
        # What start-up built (the app, Authlib's and SQLAlchemy's objects, the templates)
        # lives as long as the worker: out of the cyclic collector's way, so that its full
        # passes under load only walk what requests made (bench/NOTES.md item 32).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            for running in (task, flusher):
                if running is not None:
                    running.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await running
            if writes is not None:
                writes.close()
            if pair_writes is not None:
                pair_writes.close()
            db.dispose()
            metrics.flush()
            metrics.process_stopped()

    return lifespan


def _install_pages(app: FastAPI) -> None:
    """The pages for people (sign-in, consent, sign-out) and their security headers."""
    from .api.routes import userinfo
    from .oauth.oidc import register_metadata
    from .pages import assets, authorize, login, logout, portal, upstream
    from .pages import device as device_page
    from .pages.headers import SecurityHeaders
    from .pages.render import answer_page

    for module in (assets, login, authorize, logout, upstream, device_page, portal):
        app.include_router(module.router)
    app.include_router(userinfo.router)  # JSON for relying parties, not a page
    register_metadata(app.state.agave.oauth.metadata)
    app.state.agave.render_page = answer_page  # how api/answers.py renders a PageAnswer
    app.add_middleware(SecurityHeaders)  # innermost: it sees the scope the routes mark


def _install_operations(app: FastAPI, db: Database, settings: Settings) -> None:
    """Metrics labels, readiness checks and the /metrics and /health/ready routes."""
    metrics.known_grant_types(set(registry.grant_types()))
    metrics.DB_CAPACITY.set(db.capacity)
    readiness.register_readiness_check("database", readiness.database_check(db))
    # Every tenant's LDAP directory, when one is configured (identity/ldap.py).
    from .identity.readiness import ldap_check

    readiness.register_readiness_check("ldap", ldap_check(db))
    if settings.redis_url:
        timeout = settings.ready_timeout
        readiness.register_readiness_check(
            "redis", readiness.redis_check(settings.redis_url, timeout)
        )
    else:
        readiness.unregister_readiness_check("redis")
    app.include_router(operations.router)


def served_app() -> PeerAddress:
    """What ``agave-server serve`` runs: the app behind the peer-address and proxy layer.

    uvicorn's own proxy-header handling (``--proxy-headers``) would rewrite the client
    address before the app sees the connection's peer; here it runs inside ``PeerAddress``
    with the trusted proxies of the settings (``AGAVE_SERVER_TRUSTED_PROXIES``, else
    ``FORWARDED_ALLOW_IPS``; default loopback).
    """
    settings = Settings.load()
    return PeerAddress(create_app(settings), settings.trusted_proxies)


def _gateway(db: Database, settings: Settings, keys: KeyRing):
    """The forward-auth decision with its caches, tier counters and the tenants' keys."""
    from .services.gateway import ApiCatalogue, Gateway, Signer
    from .services.tiers import TierBook, TierThrottle, rate_counters

    throttle = TierThrottle(TierBook(db), rate_counters(db, settings))
    signer = Signer(sign=keys.sign, current_kid=lambda tenant: keys.current(tenant).kid)
    return Gateway(db, ApiCatalogue(db), throttle, signer)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application (uvicorn calls this in every worker: ``factory=True``)."""
    settings = settings or Settings.load()
    configure_hashing(settings)
    identity_secrets.configure(settings)  # the LDAP / upstream secrets' key (identity/)
    # Made now (on a thread), so that the first unknown username costs no extra hash.
    prepare_dummy_password_hash()
    access_log.install()
    db = Database(settings.db_url)
    throttle = LoginThrottle(db, settings)
    writes = WriteBatcher(db) if db.is_sqlite else None
    pair_writes = None if db.is_sqlite else PairWriter(db)
    signing_keys = KeyRing(db, settings)
    app = AgaveApp(
        title="Agave tenant server",
        version=__version__,
        description=DESCRIPTION,
        redirect_slashes=False,
        docs_url="/docs",
        redoc_url=None,
        lifespan=_lifespan(db, settings, writes, pair_writes),
    )
    app.state.agave = AppState(
        settings=settings,
        db=db,
        tenants=TenantDirectory(db, settings.tenant_cache_seconds),
        throttle=throttle,
        oauth=AgaveAuthorizationServer(db, settings, throttle, signing_keys),
        writes=writes,
        pair_writes=pair_writes,
        keys=signing_keys,
        gateway=_gateway(db, settings, signing_keys),
    )
    for module in (
        health,
        tenants,
        clients,
        token,
        profiles,
        keys,
        introspection,
        discovery,
        gateway_route,
    ):
        app.include_router(module.router)
    app.include_router(device.router)
    _install_pages(app)
    _install_error_handlers(app)
    if settings.redis_url:
        _install_redis_error_handler(app)
    _install_openapi(app)
    _install_operations(app, db, settings)
    # ONE middleware list for both stacks (api/hot_paths.py): the last added runs first.
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(Observe, log_requests=settings.access_log)
    app.add_middleware(LenientPaths)
    return app
