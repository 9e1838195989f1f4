"""``POST /oauth2/introspect``: RFC 7662 token introspection (oauth/introspection.py)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

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
    oauth_request = app.oauth.request(source)
    if app.writes is None:  # PostgreSQL: network round trips, so off the event loop
        answer = await run_in_threadpool(app.oauth.introspection_response, oauth_request)
    else:
        # SQLite: an indexed read or two (the client with the token's pair, storage/
        # introspection.py) and no password check: on the loop is cheaper than the thread
        # hop (bench/NOTES.md item 19). No read transaction around it: one statement is one
        # already, and the usual request runs only that one (item 34).
        answer = app.oauth.introspection_response(oauth_request)
    return render(request, answer)
