"""``GET /gateway/decide``: the forward-auth decision for nginx's ``auth_request``.

nginx passes on only 2xx, 401 and 403 from it, so every refusal is 401 (900901) or 403, with
the caller's real status in ``X-Agave-Status``, the WSO2 fault JSON in ``X-Agave-Fault`` (and
as the body, for other callers) and ``Retry-After`` for 429; the generated nginx.conf turns
them back into exactly that answer (``gateway_config``). A 200 carries the signed assertion in
``X-JWT-Assertion-<tenant>``. Served on the hot path: no framework routing, no thread hop
except for counting a limited tier.
"""

from __future__ import annotations

import functools
import json

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ...oauth.bearer import bearer_from_header
from ...services import gateway as service
from ...storage.records import Api, Tenant
from ..context import AppState, state, tenant_of
from ..envelope import JsonBytes, encoded_headers, json_bytes
from ..hot_paths import hot
from ..schemas import GatewayAllowed, GatewayFault

router = APIRouter(tags=["gateway"])


# The request headers the decision reads, each possibly repeated (a repeat is refused).
_AUTHORIZATION = b"authorization"
_METHOD = b"x-original-method"
_URI = b"x-original-uri"
_API = b"x-agave-api"
_TENANT = b"x-agave-tenant"
_HOST = b"host"
_READ = frozenset((_AUTHORIZATION, _METHOD, _URI, _API, _TENANT, _HOST))


def _read_headers(request: Request) -> dict[bytes, list[str]]:
    """The headers the decision reads, in one pass over the request's (ASGI: lower-case)."""
    found: dict[bytes, list[str]] = {}
    for name, value in request.scope["headers"]:
        if name in _READ:
            found.setdefault(name, []).append(value.decode("latin-1"))
    return found


async def _caller(
    app: AppState, values: list[str], tenant: Tenant, api: Api
) -> service.Caller | None:
    """The bearer token's user and client (with its subscription to ``api``) from the one
    validator (opaque or JWT, revocation seen at once); None for a missing, repeated, unknown,
    expired or revoked token, or one whose client is gone."""
    if len(values) != 1:
        return None
    value = bearer_from_header(values[0])
    if not value:
        return None
    validator = app.oauth.bearer
    presented = validator.authenticate_token(tenant, value)
    found = await validator.gateway_access_on_loop(tenant, presented, api.id)
    if found is None or presented is None:
        return None
    return service.Caller(found.user, presented.digest, found.client)


def _tenant(request: Request, app: AppState, headers: dict[bytes, list[str]]) -> Tenant:
    """The tenant the proxy config pins (``X-Agave-Tenant``), else the one ``Host`` names."""
    pinned = headers.get(_TENANT, [])
    if not pinned:
        hosts = headers.get(_HOST)
        return tenant_of(request, hosts[0] if hosts else "")
    tenant = app.tenants.by_code_cached(pinned[0]) if len(pinned) == 1 else None
    if tenant is None:
        raise service.Refused(
            service.Decision(
                400,
                service.faults.status_report(
                    400, "Bad Request", "X-Agave-Tenant does not name one tenant of this server."
                ),
            )
        )
    return tenant


@functools.lru_cache(maxsize=1024)
def _allow_body(context: str) -> bytes:
    """The 200's body, the same for every call under one API context."""
    return json_bytes({"decision": "allow", "apiContext": context})


_NO_STORE_HEADER = ((b"cache-control", b"no-store"),)


@functools.lru_cache(maxsize=64)
def _assertion_header_name(tenant_code: str) -> bytes:
    return service.assertion_header(tenant_code).lower().encode("latin-1")


def answer(decision: service.Decision, tenant: Tenant | None) -> Response:
    """The decision as nginx's auth_request can pass it on (see the module docstring)."""
    if decision.status == 200:
        assert tenant is not None and decision.assertion is not None
        headers = (
            *_NO_STORE_HEADER,
            *encoded_headers(decision.headers),
            (_assertion_header_name(tenant.code), decision.assertion.encode("latin-1")),
        )
        return JsonBytes(_allow_body(decision.api.context if decision.api else ""), 200, headers)
    # ASCII JSON (\u escapes): the same text is a header here and nginx's body later.
    fault = json.dumps(decision.fault, separators=(",", ":"))
    body = fault.encode("ascii")
    headers = (
        *_NO_STORE_HEADER,
        *encoded_headers(decision.headers),
        (b"x-agave-status", str(decision.status).encode()),
        (b"x-agave-fault", body),
    )
    return JsonBytes(body, 401 if decision.status == 401 else 403, headers)


@router.get(
    "/gateway/decide",
    summary="Forward-auth decision for the gateway (nginx auth_request)",
    description=(
        "Headers: `X-Original-Method` and `X-Original-URI` (exactly one each, set by the "
        "proxy), the caller's `Authorization: Bearer ...`, optionally `X-Agave-Api` (the "
        "API's context, fixed per proxy location) and `X-Agave-Tenant`. 200 with "
        "`X-JWT-Assertion-<tenant>`; otherwise 401 or 403 with the real status (400, 401, "
        "403, 404, 429) in `X-Agave-Status`, the WSO2 fault in `X-Agave-Fault` and the body, "
        "and `Retry-After` for 429. `HEAD` answers the same headers without a body: the "
        "generated nginx config asks that way, so that nginx keeps its connection."
    ),
    responses={
        200: {
            "model": GatewayAllowed,
            "description": "Allowed: the assertion is in X-JWT-Assertion-<tenant>",
        },
        401: {"model": GatewayFault, "description": "900901 (X-Agave-Status: 401)"},
        403: {
            "model": GatewayFault,
            "description": "Refused: X-Agave-Status 400, 403 (900908), 404 or 429 (900800, "
            "with Retry-After)",
        },
    },
    openapi_extra={"security": [{"bearerAuth": []}]},
)
@hot
async def decide(request: Request) -> Response:
    app = state(request)
    gateway: service.Gateway = app.gateway  # type: ignore[assignment]
    headers = _read_headers(request)
    tenant = None
    try:
        tenant = _tenant(request, app, headers)
        fixed = headers.get(_API, [])
        if len(fixed) > 1:
            raise service.Refused(
                service.Decision(
                    400,
                    service.faults.status_report(400, "Bad Request", "X-Agave-Api is repeated."),
                )
            )
        _path, api = gateway.resolve(
            tenant,
            headers.get(_METHOD, []),
            headers.get(_URI, []),
            fixed[0] if fixed else None,
        )
    except service.Refused as refused:
        return answer(refused.decision, tenant)
    caller = await _caller(app, headers.get(_AUTHORIZATION, []), tenant, api)
    step = gateway.authorize(tenant, api, caller)
    if isinstance(step, service.Decision):
        return answer(step, tenant)
    if step.limited:
        over = await run_in_threadpool(gateway.count, step)
        if over is not None:
            return answer(over, tenant)
    return answer(gateway.admit(step), tenant)


# HEAD for nginx: with no body left to read after the headers, it keeps the upstream
# connection (docs/gateway.md). Outside the schema: one operation per path and method
# name, and HEAD answers as GET does.
router.add_api_route("/gateway/decide", decide, methods=["HEAD"], include_in_schema=False)
