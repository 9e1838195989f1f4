"""Per-process application state and the per-request facts every route needs (tenant, address)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from starlette.requests import Request

from ..basic_auth import MalformedCredentials, parse_basic
from ..config import Settings
from ..errors import NotFound, Unauthorized
from ..oauth import AgaveAuthorizationServer
from ..oauth.bearer import bearer_from_header
from ..oauth.keys import KeyRing
from ..services import accounts
from ..services.gateway import Gateway
from ..services.throttle import LoginThrottle
from ..storage import Database, builtin_clients
from ..storage.batch import WriteBatcher
from ..storage.pair_writes import PairWriter
from ..storage.records import Tenant, User
from ..storage.tenants import TenantDirectory, request_host_key


@dataclass
class AppState:
    settings: Settings
    db: Database
    tenants: TenantDirectory
    throttle: LoginThrottle
    oauth: AgaveAuthorizationServer
    writes: WriteBatcher | None  # group commit of the token grants' writes (SQLite only)
    keys: KeyRing  # the tenants' signing keys (oauth/keys.py)
    # Renders PageAnswers (api/answers.PageRenderer); the pages package installs Jinja2's.
    render_page: Any = None
    gateway: Gateway | None = None  # the forward-auth decision (services.gateway)
    # The token grants' pairs, each turn of the event loop's in one statement (PostgreSQL only)
    pair_writes: PairWriter | None = None


def state(request: Request) -> AppState:
    return request.app.state.agave


def tenant_of(request: Request, host: str | None = None) -> Tenant:
    """The tenant whose base URL's host:port is the request's Host; else the oldest tenant.
    ``host``: the header's value when the caller has read the headers already (the hot
    paths read them in one pass; Starlette's ``Headers`` decodes all of them per look-up)."""
    if host is None:
        host = request.headers.get("host", "")
    # The scope's scheme, not ``request.url``: building the URL costs more than the look-up.
    key = request_host_key(host, request.scope.get("scheme", "http"))
    tenant = state(request).tenants.for_host(key)
    if tenant is None:
        raise NotFound("No tenant is configured on this server: run `agave-server tenants add`.")
    return tenant


def address_of(request: Request) -> str | None:
    """The caller's address: the socket peer, or, when the peer is one of the trusted proxies
    (``AGAVE_SERVER_TRUSTED_PROXIES``), the ``X-Forwarded-For`` it set; uvicorn's proxy-headers
    middleware has already made that choice for ``request.client``."""
    client = request.scope.get("client")  # ``request.client`` builds an Address each time
    return client[0] if client else None


def account_user(request: Request, tenant: Tenant) -> User:
    """The user of a ``/clients/v2`` call: HTTP Basic, or a token of ``agave login``.

    A bearer token is accepted when the bearer validator (``oauth/bearer.py``) finds it live
    and it was issued to the tenant's built-in CLI client (the device or browser login of
    ``agave login``), so that after logging in nobody types a password again. Tokens of
    other clients are refused: they may belong to any gateway or portal, which must not
    manage the user's clients on their behalf.
    """
    header = request.headers.get("authorization", "")
    if header[:7].lower() != "bearer ":
        return basic_user(request, tenant)
    # Basic first: what the old tools understand; then the Bearer challenge (RFC 6750).
    realm = f"Agave tenant {tenant.code}"
    challenge = f'{accounts.basic_challenge(tenant)}, Bearer realm="{realm}"'
    app = state(request)
    grant = app.oauth.bearer.access(tenant, bearer_from_header(header))
    if grant is None:
        raise Unauthorized(
            "Invalid, expired or revoked access token: the clients API takes HTTP Basic with "
            "your username and password, or a token of `agave login`.",
            {"WWW-Authenticate": challenge + ', error="invalid_token"'},
        )
    if grant.client_id != builtin_clients.cli_client_row_id(app.db, tenant.id, tenant.uuid):
        raise Unauthorized(
            "This access token was not issued by `agave login` (client agave-cli): the "
            "clients API takes HTTP Basic with your username and password, or such a token.",
            {"WWW-Authenticate": challenge},
        )
    return grant.user


def basic_user(request: Request, tenant: Tenant) -> User:
    """The user named by HTTP Basic credentials (argon2: call from a worker thread)."""
    challenge = {"WWW-Authenticate": accounts.basic_challenge(tenant)}
    try:
        credentials = parse_basic(request.headers.get("authorization"))
    except MalformedCredentials as err:
        raise Unauthorized(str(err), challenge) from None
    if credentials is None:
        raise Unauthorized(
            "Missing credentials: use HTTP Basic with your Agave username and password.", challenge
        )
    app = state(request)
    username, password = credentials
    return accounts.authenticate_basic(
        app.db, app.throttle, tenant, username, password, address_of(request)
    )
