"""``/device``: where a person approves a device login (RFC 8628 section 3.3).

The code typed (or pre-filled from ``verification_uri_complete``) is looked up with the same
throttle as passwords; then, signed in (the login page, if needed), the person sees which
client asks, for which scopes, with which code, and the remote-phishing warning of RFC 8628
section 5.4, and chooses Allow or Deny. A device approval is never remembered: every code
asks. Thin: the lookups and decisions are ``services.device_approvals``.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.context import address_of, state, tenant_of
from ..services import device_approvals
from ..services.device_approvals import PendingLogin, UnknownCode
from ..storage.records import Tenant
from . import session
from .navigation import link
from .render import page, redirect
from .routing import form_of, page_router

router = page_router()

APPROVE_PATH = "/device/approve"
UNKNOWN = (
    "That code is not valid, has expired or was already used. Check the code your device "
    "shows (letters only, such as BCDF-GHJK), or start the login on the device again."
)
MAX_TYPED = 32


def _entry(request: Request, tenant: Tenant, typed: str, error: str | None = None) -> Response:
    return page(
        request,
        tenant,
        "device.html",
        title="Sign in a device",
        user_code=typed[:MAX_TYPED],
        error=error,
        status=400 if error else 200,
    )


async def _find(request: Request, tenant: Tenant, typed: str) -> PendingLogin:
    app = state(request)
    return await run_in_threadpool(
        device_approvals.find, app.db, app.throttle, tenant, typed, address_of(request)
    )


@router.get("/device")
async def device_form(request: Request) -> Response:
    tenant = tenant_of(request)
    return _entry(request, tenant, request.query_params.get("user_code", ""))


@router.post("/device")
async def device_code(request: Request) -> Response:
    """Check the typed code, then go to the approval page (through sign-in if needed)."""
    tenant = tenant_of(request)
    typed = form_of(request).get("user_code", "").strip()[:MAX_TYPED]
    try:
        pending = await _find(request, tenant, typed)
    except UnknownCode:
        return _entry(request, tenant, typed, UNKNOWN)
    approve_path = f"{APPROVE_PATH}?user_code={pending.user_code}"
    signed_in = await run_in_threadpool(session.current, request, state(request).db, tenant)
    if signed_in is None:
        return redirect(link(tenant, "/login", next=approve_path))
    return redirect(link(tenant, approve_path))


@router.get(APPROVE_PATH)
async def approve_form(request: Request) -> Response:
    tenant = tenant_of(request)
    typed = request.query_params.get("user_code", "")[:MAX_TYPED]
    current = await run_in_threadpool(session.current, request, state(request).db, tenant)
    if current is None:
        here = APPROVE_PATH + "?user_code=" + typed
        return redirect(link(tenant, "/login", next=here))
    try:
        pending = await _find(request, tenant, typed)
    except UnknownCode:
        return _entry(request, tenant, typed, UNKNOWN)
    return page(request, tenant, "device_approve.html", title="Sign in a device?", pending=pending)


@router.post(APPROVE_PATH)
async def approve(request: Request) -> Response:
    tenant = tenant_of(request)
    form = form_of(request)
    typed = form.get("user_code", "")[:MAX_TYPED]
    app = state(request)
    current = await run_in_threadpool(session.current, request, app.db, tenant)
    if current is None:
        return redirect(link(tenant, "/login", next=APPROVE_PATH + "?user_code=" + typed))
    try:
        pending = await _find(request, tenant, typed)
    except UnknownCode:
        return _entry(request, tenant, typed, UNKNOWN)
    allowed = form.get("decision") == "allow"
    decided = await run_in_threadpool(
        device_approvals.decide, app.db, pending, current.user, allowed
    )
    if not decided:
        return _entry(request, tenant, typed, UNKNOWN)
    return page(
        request,
        tenant,
        "device_done.html",
        title="Device signed in" if allowed else "Device not signed in",
        allowed=allowed,
        pending=pending,
    )
