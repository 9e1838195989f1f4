"""``POST /token`` and ``POST /revoke``: Authlib's token and RFC 7009 endpoints.

Errors here are RFC 6749 bodies (``error``, ``error_description``), not envelopes, because
that is what OAuth clients parse.
"""

from __future__ import annotations

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ... import metrics
from ...errors import AgaveError
from ...oauth import AgaveOAuth2Request
from ..body import read_params
from ..context import address_of, state, tenant_of
from ..envelope import json_response, oauth_error
from ..schemas import PRETTY, REVOKE_BODY, TOKEN_BODY, Empty, TokenOut
from .docs import oauth_error_responses

router = APIRouter(tags=["oauth"])
BASIC = [{"clientBasicAuth": []}]


async def _oauth_request(request: Request) -> AgaveOAuth2Request | Response:
    try:
        form = await read_params(request)
        tenant = tenant_of(request)
    except AgaveError as err:
        return oauth_error(err.status, "invalid_request", err.message, err.headers)
    app = state(request)
    return AgaveOAuth2Request(
        method=request.method,
        uri=request.scope["path"],  # Authlib only keeps it; the form and headers carry all
        headers=request.headers,
        form=form,
        tenant=tenant,
        db=app.db,
        throttle=app.throttle,
        address=address_of(request),
    )


def _render(request: Request, status: int, body: dict, headers: list) -> Response:
    pretty = (
        b"pretty" in request.scope["query_string"]  # skip parsing the query when it cannot be
        and request.query_params.get("pretty", "").lower() == "true"
    )
    extra = {k: v for k, v in headers if k.lower() != "content-type"}
    return json_response(body, status, extra, pretty)


@router.post(
    "/token",
    summary="Obtain or refresh tokens (HTTP Basic: consumerKey and consumerSecret)",
    description="Grants: password, refresh_token (rotating), admin_password (tenant admins, "
    "with token_username), client_credentials.",
    responses={
        200: {"model": TokenOut, "description": "A token pair"},
        **oauth_error_responses(400, 401, 429),
    },
    openapi_extra={**TOKEN_BODY, "parameters": [PRETTY], "security": BASIC},
)
async def token(request: Request) -> Response:
    oauth_request = await _oauth_request(request)
    if isinstance(oauth_request, Response):
        metrics.token_grant(None, oauth_request.status_code, {"error": "invalid_request"})
        return oauth_request
    try:
        answer = await _token_answer(request, oauth_request)
    except Exception:  # mapped to 503/500 by the app's handlers
        metrics.token_grant(oauth_request.form.get("grant_type"), 500, None)
        raise
    metrics.token_grant(oauth_request.form.get("grant_type"), answer[0], answer[1])
    return _render(request, *answer)


async def _token_answer(request: Request, oauth_request: AgaveOAuth2Request) -> tuple:
    app = state(request)
    if app.writes is None or oauth_request.form.get("grant_type") not in INLINE_GRANTS:
        return await run_in_threadpool(app.oauth.token_response, oauth_request)
    # Grants without a password check, on SQLite, run on the event loop itself: they are a
    # few indexed reads of microseconds each on a local file, and handing them to a worker
    # thread cost several times that (thread hand-offs, forty threads fighting over the GIL
    # and the write lock: bench/NOTES.md item 9). Their write joins the process's next group
    # commit. Password grants (argon2, tens of milliseconds) and PostgreSQL (network round
    # trips) stay in the thread pool, where they do not hold up other requests.
    oauth_request.defer_write = True
    with app.db.snapshot():
        answer = app.oauth.token_response(oauth_request)
    if oauth_request.pending_write is not None:
        try:
            stored: bool | None = await app.writes.submit(oauth_request.pending_write)
        except IntegrityError:
            stored = None
        answer = app.oauth.finish_deferred(oauth_request, answer, stored)
    return answer


INLINE_GRANTS = frozenset({"client_credentials", "refresh_token"})


@router.post(
    "/revoke",
    summary="Revoke an access or refresh token (RFC 7009); revokes its pair",
    description="Answers 200 even for unknown tokens, as RFC 7009 requires.",
    responses={
        200: {"model": Empty, "description": "Revoked (or unknown)"},
        **oauth_error_responses(400, 401, 429),
    },
    openapi_extra={**REVOKE_BODY, "parameters": [PRETTY], "security": BASIC},
)
async def revoke(request: Request) -> Response:
    oauth_request = await _oauth_request(request)
    if isinstance(oauth_request, Response):
        return oauth_request
    status, body, headers = await run_in_threadpool(
        state(request).oauth.revocation_response, oauth_request
    )
    return _render(request, status, body, headers)
