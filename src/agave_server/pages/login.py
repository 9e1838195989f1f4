"""``/login`` (the sign-in form and its POST) and ``POST /logout``.

Sign-in asks ``services.accounts.authenticate``, the same check and brute-force throttle as
the password grant (identity backends plug in below it). ``next`` may only name a path of
this tenant; a sign-in always starts a session with a new id.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.context import address_of, state, tenant_of
from ..errors import BadRequest
from ..oauth.authorize import pending_redirect_origin
from ..services import accounts
from . import csrf, session
from .navigation import link, safe_next
from .render import page, redirect
from .routing import form_of, page_router
from .upstream import sign_in_choices

router = page_router()

BAD_NEXT = (
    "The address to return to after signing in must be a path on this site (such as "
    "/oauth2/authorize?...), not another site's address."
)


def _next(value: str | None) -> str | None:
    """``value`` checked: None when absent, the path when safe, else a 400 page."""
    if value is None or value == "":
        return None
    checked = safe_next(value)
    if checked is None:
        raise BadRequest(BAD_NEXT)
    return checked


@router.get("/login")
async def login_form(request: Request) -> Response:
    tenant = tenant_of(request)
    next_path = _next(request.query_params.get("next"))
    app = state(request)
    current = await run_in_threadpool(session.current, request, app.db, tenant)
    # reauth=1: the authorization asked for a fresh sign-in (prompt=login, max_age).
    if current is not None and request.query_params.get("reauth") != "1":
        if next_path:
            return redirect(link(tenant, next_path))
        return page(request, tenant, "signed_in.html", title="Signed in")
    return page(
        request,
        tenant,
        "login.html",
        title="Sign in",
        next=next_path,
        username="",
        form_targets=await _form_targets(request, tenant, next_path),
        **sign_in_choices(app.db, tenant),
    )


async def _form_targets(request: Request, tenant, next_path: str | None) -> list[str]:
    """Origins the sign-in form's redirects may reach (see ``pending_redirect_origin``)."""
    found = await run_in_threadpool(
        pending_redirect_origin, state(request).oauth, tenant, next_path
    )
    return [found] if found else []


@router.post("/login")
async def login(request: Request) -> Response:
    tenant = tenant_of(request)
    form = form_of(request)
    next_path = _next(form.get("next"))
    username = form.get("username", "").strip()
    password = form.get("password", "")
    app = state(request)
    user = None
    if username and password:
        user = await run_in_threadpool(
            accounts.authenticate,
            app.db,
            app.throttle,
            tenant,
            username,
            password,
            address_of(request),
        )
    if user is None:
        return page(
            request,
            tenant,
            "login.html",
            title="Sign in",
            next=next_path,
            username=username[:64],
            **sign_in_choices(app.db, tenant),
            error="Invalid username or password."
            if username and password
            else "Enter your username and your password.",
            form_targets=await _form_targets(request, tenant, next_path),
        )
    scratch = Response()
    await run_in_threadpool(
        session.sign_in, request, scratch, app.db, tenant, user, app.settings.session_lifetime
    )
    csrf.renew(request)
    csrf.attach(request, scratch, tenant)
    return redirect(link(tenant, next_path or "/login"), scratch)


@router.post("/logout")
async def logout(request: Request) -> Response:
    tenant = tenant_of(request)
    form = form_of(request)
    app = state(request)
    scratch = Response()
    ended = await run_in_threadpool(
        session.sign_out, request, scratch, app.db, tenant, form.get("everywhere") == "1"
    )
    csrf.renew(request)
    response = page(request, tenant, "signed_out.html", title="Signed out", ended=ended)
    for name, value in scratch.raw_headers:
        if name == b"set-cookie":
            response.raw_headers.append((name, value))
    return response
