"""``POST /oauth2/introspect``: RFC 7662 token introspection (oauth/introspection.py)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ...storage.lookups import reading_ahead
from ..answers import oauth_input, render
from ..context import state
from ..hot_paths import hot
from ..schemas import INTROSPECT_BODY, PRETTY, IntrospectionOut
from .docs import oauth_error_responses

router = APIRouter(tags=["oauth"])
BASIC = [{"clientBasicAuth": []}]


@router.post(
    "/oauth2/introspect",
    summary="Introspect a token (RFC 7662; HTTP Basic or client_secret_post)",
    description="A client may introspect the tokens it was issued; a client marked as a "
    "resource server, or owned by a tenant administrator, any token of its tenant. A token "
    'of another tenant, or a revoked, expired or unknown one, is {"active": false}.',
    responses={
        200: {
            "model": IntrospectionOut,
            "description": "Whether the token is active, and its facts",
        },
        **oauth_error_responses(400, 401, 429),
    },
    openapi_extra={
        **INTROSPECT_BODY,
        "parameters": [PRETTY],
        "security": [{"clientBasicAuth": []}],
    },
)
@hot
async def introspect(request: Request) -> Response:
    source = await oauth_input(request)
    if isinstance(source, Response):
        return source
    app = state(request)
    oauth = app.oauth
    oauth_request = oauth.request(source)
    if oauth.lookups is not None and oauth.throttle.in_database:
        # PostgreSQL: what introspection reads (the client with the token's pair) is read
        # ahead in the event loop's batched queries; then it runs on the loop without
        # waiting on the network (storage/lookups.py; bench/NOTES.md item 37).
        rows = await oauth.lookups.read_ahead(oauth.introspection_reads_ahead(oauth_request))
        with reading_ahead(rows):
            answer = oauth.introspection_response(oauth_request)
    elif app.writes is None:  # PostgreSQL with the login counters in Redis: off the loop
        answer = await run_in_threadpool(oauth.introspection_response, oauth_request)
    else:
        # SQLite: an indexed read or two (the client with the token's pair, storage/
        # introspection.py) and no password check: on the loop is cheaper than the thread
        # hop (bench/NOTES.md item 19). No read transaction around it: one statement is one
        # already, and the usual request runs only that one (item 34).
        answer = oauth.introspection_response(oauth_request)
    return render(request, answer)
