"""``POST /token`` and ``POST /revoke``: Authlib's token and RFC 7009 endpoints.

Errors here are RFC 6749 bodies (``error``, ``error_description``), not envelopes, because
that is what OAuth clients parse.
"""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from fastapi import APIRouter
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ... import metrics
from ...oauth import registry
from ...oauth.jwt_tokens import OPAQUE
from ...storage.lookups import reading_ahead
from ..answers import oauth_input, render
from ..context import AppState, state
from ..hot_paths import hot
from ..schemas import PRETTY, REVOKE_BODY, TOKEN_BODY, Empty, TokenOut
from .docs import oauth_error_responses

router = APIRouter(tags=["oauth"])
BASIC = [{"clientBasicAuth": []}]
INLINE_GRANTS = registry.inline_grant_types()
SNAPSHOT_GRANTS = registry.snapshot_grant_types()


@router.post(
    "/token",
    summary="Obtain or refresh tokens (HTTP Basic: consumerKey and consumerSecret)",
    description="Grants: " + ", ".join(registry.grant_types()) + ". refresh_token rotates; "
    "admin_password is for tenant admins (with token_username). Client authentication: HTTP "
    "Basic (consumerKey:consumerSecret) or client_id and client_secret in the body.",
    responses={
        200: {"model": TokenOut, "description": "A token pair"},
        **oauth_error_responses(400, 401, 429),
    },
    openapi_extra={**TOKEN_BODY, "parameters": [PRETTY], "security": BASIC},
)
@hot
async def token(request: Request) -> Response:
    source = await oauth_input(request)
    if isinstance(source, Response):
        metrics.token_grant(None, source.status_code, {"error": "invalid_request"})
        return source
    oauth_request = state(request).oauth.request(source)
    grant_type = oauth_request.form.get("grant_type")
    try:
        answer = await _token_answer(request, oauth_request)
    except Exception:  # mapped to 503/500 by the app's handlers
        metrics.token_grant(grant_type, 500, None)
        raise
    metrics.token_grant(grant_type, answer.status, getattr(answer, "body", None))
    return render(request, answer)


async def _token_answer(request: Request, oauth_request: Any) -> Any:
    app = state(request)
    inline = (
        oauth_request.form.get("grant_type") in INLINE_GRANTS
        # Signing a JWT costs about a millisecond of CPU: not on the event loop.
        and oauth_request.tenant.access_token_format == OPAQUE
    )
    if inline and app.writes is not None:
        return await _on_loop_sqlite(app, oauth_request)
    if inline and app.pair_writes is not None and app.oauth.throttle.in_database:
        return await _on_loop_postgres(app, oauth_request)
    # Password grants (argon2, tens of milliseconds), JWTs, and the login counters in Redis
    # (a blocking round trip each) stay in the thread pool, where they hold up no one else.
    return await run_in_threadpool(app.oauth.token_response, oauth_request)


async def _on_loop_sqlite(app: AppState, oauth_request: Any) -> Any:
    """Grants without a password check, on SQLite, run on the event loop itself: they are a
    few indexed reads of microseconds each on a local file, and handing them to a worker
    thread cost several times that (thread hand-offs, forty threads fighting over the GIL
    and the write lock: bench/NOTES.md item 9). Their write joins the process's next group
    commit."""
    oauth_request.defer_write = True
    # One read (client_credentials: the client with its owner) is a read transaction of its
    # own; a BEGIN and COMMIT around it would only add two statements (bench/NOTES.md 34).
    shared = oauth_request.form["grant_type"] in SNAPSHOT_GRANTS
    with app.db.snapshot() if shared else nullcontext():
        answer = app.oauth.token_response(oauth_request)
    if oauth_request.pending_write is not None:
        try:
            stored: bool | None = await app.writes.submit(oauth_request.pending_write)
        except IntegrityError:
            stored = None
        answer = app.oauth.finish_deferred(oauth_request, answer, stored)
    return answer


async def _on_loop_postgres(app: AppState, oauth_request: Any) -> Any:
    """The same grants on PostgreSQL, on the event loop too: what the grant will read (the
    client, a refresh's pair) is read ahead in the loop's batched queries, the grant then runs
    without waiting on the network, and its pair joins the loop's next batched write
    (storage/lookups.py, storage/pair_writes.py; bench/NOTES.md item 37)."""
    oauth = app.oauth
    rows = await oauth.lookups.read_ahead(oauth.reads_ahead(oauth_request))
    oauth_request.defer_write = True
    with reading_ahead(rows):
        answer = oauth.token_response(oauth_request)
    pair = oauth_request.pending_pair
    if pair is not None:
        try:
            stored: bool | None = await app.pair_writes.submit(pair)
        except IntegrityError:
            stored = None
        answer = oauth.finish_deferred(oauth_request, answer, stored)
    return answer


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
    source = await oauth_input(request)
    if isinstance(source, Response):
        return source
    oauth = state(request).oauth
    answer = await run_in_threadpool(oauth.revocation_response, oauth.request(source))
    return render(request, answer)
