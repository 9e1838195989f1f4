"""``/oauth2/logout`` (GET, and POST as relying parties may send it): RP-initiated logout.

``oauth.logout.plan`` decides; this page signs out, asks first, or shows why it cannot. A POST
from a relying party carries no CSRF token and is treated like the GET (it never signs out
without the checks of ``plan``); the confirmation form's POST carries ``confirm`` and its
CSRF token, which the route class checks like every other form.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.context import state, tenant_of
from ..errors import BadRequest
from ..oauth.logout import LOGOUT_PATH, LogoutRefused, plan
from ..oauth.redirect_uris import origin
from . import csrf, session
from .render import page, redirect
from .routing import form_of, page_router, relying_party_post

router = page_router()


async def _logout(request: Request, params: dict[str, str], confirmed: bool) -> Response:
    tenant = tenant_of(request)
    app = state(request)
    current = await run_in_threadpool(session.current, request, app.db, tenant)
    user = current.user if current else None
    try:
        decision = await run_in_threadpool(plan, app.oauth, tenant, params, user)
    except LogoutRefused as err:
        raise BadRequest(str(err)) from None
    if not (decision.sign_out_now or confirmed):
        return page(
            request,
            tenant,
            "logout_confirm.html",
            title="Sign out?",
            client_name=decision.client_name,
            carried=decision.carried,
            # The confirmation's POST redirects to the client: its CSP must allow that.
            form_targets=[o for o in (origin(decision.redirect_to or ""),) if o],
        )
    scratch = Response()
    ended = await run_in_threadpool(session.sign_out, request, scratch, app.db, tenant)
    csrf.renew(request)
    csrf.attach(request, scratch, tenant)
    if decision.redirect_to:
        return redirect(decision.redirect_to, scratch)
    response = page(request, tenant, "signed_out.html", title="Signed out", ended=ended)
    for name, value in scratch.raw_headers:
        if name == b"set-cookie":
            response.raw_headers.append((name, value))
    return response


@router.get(LOGOUT_PATH)
async def end_session(request: Request) -> Response:
    return await _logout(request, dict(request.query_params), confirmed=False)


@router.post(LOGOUT_PATH)
@relying_party_post
async def end_session_post(request: Request) -> Response:
    form = form_of(request)
    return await _logout(request, form, confirmed=form.get("confirm") == "1")
