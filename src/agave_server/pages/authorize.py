"""``GET /oauth2/authorize`` and ``POST /oauth2/consent``: the browser's side of the code flow.

Thin: find who is signed in, hand the request to ``oauth.authorize``, render its answer (a
redirect, the sign-in page, the consent page or an error page).
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.answers import render
from ..api.context import address_of, state, tenant_of
from ..oauth import HttpInput
from ..oauth.authorize import AUTHORIZE_PATH, Browser, authorize, carried_query
from . import session
from .routing import form_of, page_router, relying_party_post

router = page_router()


def _browser(request: Request, tenant) -> Browser:
    current = session.current(request, state(request).db, tenant)
    if current is None:
        return Browser(None)
    return Browser(current.user, current.auth_time)


def _step(request: Request, query: dict[str, str], items, decision: str | None):
    tenant = tenant_of(request)
    source = HttpInput(
        method="GET",
        path=AUTHORIZE_PATH,
        tenant=tenant,
        headers=request.headers,
        query=query,
        address=address_of(request),
    )
    return authorize(state(request).oauth, source, _browser(request, tenant), items, decision)


@router.get(AUTHORIZE_PATH)
async def authorization(request: Request) -> Response:
    items = request.query_params.multi_items()
    answer = await run_in_threadpool(_step, request, dict(items), items, None)
    return render(request, answer)


@router.post(AUTHORIZE_PATH)
@relying_party_post
async def authorization_post(request: Request) -> Response:
    """OpenID Connect Core 3.1.2.1: the request may come as a form POST; it is the GET."""
    form = form_of(request)
    answer = await run_in_threadpool(_step, request, form, list(form.items()), None)
    return render(request, answer)


@router.post("/oauth2/consent")
async def consent(request: Request) -> Response:
    form = form_of(request)
    decision = "allow" if form.get("decision") == "allow" else "deny"
    answer = await run_in_threadpool(_step, request, carried_query(form), [], decision)
    return render(request, answer)
