"""Sign-in through upstream OpenID Connect providers: ``/login/upstream/{name}`` and its
callback, plus what the login page shows ("Sign in with NAME", and whether it asks for a
password at all).

Thin: the protocol is ``identity.upstream_oidc``. The cookie binding the answer to this
browser is scoped to ``/login/upstream/`` and lives as long as the upstream sign-in may take.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.context import state, tenant_of
from ..errors import BadRequest
from ..identity import for_tenant, upstream_oidc
from ..storage import Database
from ..storage import identity_config as config_store
from ..storage.records import Tenant
from . import csrf, session
from .navigation import link, safe_next
from .render import redirect
from .routing import page_router

router = page_router()
COOKIE_PATH = "/login/upstream/"


def sign_in_choices(db: Database, tenant: Tenant) -> dict:
    """For login.html: the upstream buttons, and whether the password form is shown."""
    return {
        "upstreams": [u.name for u in config_store.list_upstreams(db, tenant.id)],
        "password_login": for_tenant(db, tenant).accepts_passwords,
    }


def _cookie(tenant: Tenant) -> str:
    return session.cookie_name(tenant, "upstream")


@router.get("/login/upstream/{name}")
async def upstream_start(request: Request, name: str) -> Response:
    tenant = tenant_of(request)
    raw_next = request.query_params.get("next")
    next_path = safe_next(raw_next) if raw_next else None
    if raw_next and next_path is None:
        raise BadRequest(
            "The address to return to after signing in must be a path on this site, "
            "not another site's address."
        )
    app = state(request)
    started = await run_in_threadpool(upstream_oidc.start, app.db, tenant, name, next_path)
    response = redirect(started.url)
    response.set_cookie(
        _cookie(tenant),
        started.browser_secret,
        max_age=upstream_oidc.LOGIN_LIFETIME,
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",  # the upstream's answer is a top-level GET navigation: Lax sends it
        secure=session.is_secure(tenant),
    )
    return response


@router.get("/login/upstream/{name}/callback")
async def upstream_callback(request: Request, name: str) -> Response:
    tenant = tenant_of(request)
    app = state(request)
    params = {k: v for k, v in request.query_params.items()}
    signed = await run_in_threadpool(
        upstream_oidc.finish, app.db, tenant, name, params, request.cookies.get(_cookie(tenant))
    )
    scratch = Response()
    lifetime = app.settings.session_lifetime
    await run_in_threadpool(
        session.sign_in, request, scratch, app.db, tenant, signed.user, lifetime
    )
    scratch.delete_cookie(
        _cookie(tenant),
        path=COOKIE_PATH,
        httponly=True,
        samesite="lax",
        secure=session.is_secure(tenant),
    )
    csrf.renew(request)
    csrf.attach(request, scratch, tenant)
    return redirect(link(tenant, signed.next_path or "/login"), scratch)
