"""The developer portal at ``{issuer}/portal/``: a user's clients, keys, subscriptions,
sessions and account in the browser, and a tenant admin's users, APIs and failed logins.

Thin, like every route: each handler finds who is signed in, calls the same service function
the ``/clients/v2`` API calls (``services.clients``, ``services.sessions``,
``services.accounts``), and renders a page or redirects (POST, then 303 to a page: reloading
never repeats an action). Errors are pages (``routing.PageRoute``) with the service's own
message; a form's validation error is shown next to its field. A signed-out visit goes to the
sign-in page and comes back; another user's client is a 404 like a name that does not exist;
an admin page is a 403 for everyone else.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..api.context import address_of, state, tenant_of
from ..errors import AgaveError, BadRequest, Conflict, Forbidden, NotFound
from ..services import accounts, apis, audit, clients, consents, sessions, tiers, validation
from ..services.throttle import recent_failures
from ..storage import Database
from ..storage import users as user_store
from ..storage.records import Tenant, User
from . import session
from .headers import policy
from .navigation import link
from .render import page, redirect
from .routing import form_of, page_router

router = page_router()
PAGE_SIZE = 20
# The portal's pages may run its one script (copy buttons), from this origin only.
PORTAL_CSP = policy().replace("default-src 'none';", "default-src 'none'; script-src 'self';")


@dataclass(frozen=True)
class Visitor:
    """Who is looking at a portal page: the tenant, the signed-in user, the app's database."""

    tenant: Tenant
    user: User
    db: Database


async def _visitor(request: Request) -> Visitor | Response:
    """The signed-in user, or a redirect to the sign-in page that comes back here."""
    tenant = tenant_of(request)
    app = state(request)
    current = await run_in_threadpool(session.current, request, app.db, tenant)
    if current is None or current.user.disabled:
        back = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return redirect(link(tenant, "/login", next=back))
    return Visitor(tenant, current.user, app.db)


async def _admin(request: Request) -> Visitor | Response:
    who = await _visitor(request)
    if isinstance(who, Visitor) and not who.user.is_admin:
        raise Forbidden(
            f"This page is for the administrators of {who.tenant.name}; "
            f"{who.user.username} is not one."
        )
    return who


def _flash_cookie(tenant: Tenant) -> str:
    return session.cookie_name(tenant, "flash")


def _take_flash(request: Request, tenant: Tenant) -> str:
    """The notice the previous action left for this page (a cookie, so that no link can make
    the portal say something it did not do)."""
    raw = request.cookies.get(_flash_cookie(tenant), "")
    try:
        return base64.urlsafe_b64decode(raw.encode() + b"==").decode()[:300] if raw else ""
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return ""


def _page(request: Request, who: Visitor, template: str, title: str, **context: Any) -> Response:
    notice = _take_flash(request, who.tenant)
    context.setdefault("notice", notice)
    response = page(
        request,
        who.tenant,
        template,
        title=title,
        user=who.user,
        tiers=validation.TIERS,
        **context,
    )
    response.headers["Content-Security-Policy"] = PORTAL_CSP
    if notice:
        session.clear_cookie(response, who.tenant, _flash_cookie(who.tenant))
    return response


def _audit(request: Request, who: Visitor, action: str, target: str, **detail: Any) -> None:
    """An action done in the portal, in the tenant's audit log (who, what, from where)."""
    audit.record(
        who.db, who.tenant.id, who.user.username, action, target, address_of(request), detail
    )


def _back(who: Visitor, path: str, notice: str = "") -> Response:
    """303 to a portal page, carrying ``notice`` for it to show once."""
    response = redirect(link(who.tenant, path))
    if notice:
        value = base64.urlsafe_b64encode(notice.encode()).decode().rstrip("=")
        session.set_cookie(response, who.tenant, _flash_cookie(who.tenant), value, 60)
    return response


def _offset(request: Request) -> int:
    raw = request.query_params.get("offset", "0")
    if not raw.isdigit() or len(raw) > 9:
        raise BadRequest(f"Invalid offset {raw[:20]!r}: use a whole number from 0.")
    return int(raw)


# -- my clients -------------------------------------------------------------------------------
@router.get("/portal")
async def home(request: Request) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    return _back(who, "/portal/clients")


@router.get("/portal/clients")
async def client_list(request: Request) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    offset = _offset(request)
    rows = await run_in_threadpool(clients.list_for, who.db, who.user, PAGE_SIZE + 1, offset)
    return _page(
        request,
        who,
        "portal/clients.html",
        "My clients",
        clients=rows[:PAGE_SIZE],
        offset=offset,
        next_offset=offset + PAGE_SIZE if len(rows) > PAGE_SIZE else None,
        prev_offset=max(0, offset - PAGE_SIZE) if offset else None,
    )


@router.get("/portal/clients/new")
async def new_client_form(request: Request) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    return _page(request, who, "portal/new_client.html", "Create a client", form={}, errors={})


# A failure's field as the services name it (``AgaveError.field``) -> the form input it is
# shown next to, where the two differ; a failure about no field goes next to the first input.
_INPUT_OF_FIELD = {
    "clientName": "name",
    "first name": "first_name",
    "last name": "last_name",
    "API name": "name",
}


def _errors_of(err: AgaveError, inputs: tuple[str, ...]) -> dict[str, str]:
    """``{input: message}`` for a form whose inputs are ``inputs`` (the first is the fallback)."""
    named = _INPUT_OF_FIELD.get(err.field or "", err.field)
    return {named if named in inputs else inputs[0]: err.message}


@router.post("/portal/clients/new")
async def create_client(request: Request) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    form = form_of(request)
    params = {
        "clientName": form.get("name", "").strip(),
        "description": form.get("description", ""),
        "tier": form.get("tier", ""),
        "callbackUrl": form.get("callbackUrl", "").strip(),
    }
    try:
        new = await run_in_threadpool(clients.create, who.db, who.tenant, who.user, params)
    except (BadRequest, Conflict) as err:
        return _page(
            request,
            who,
            "portal/new_client.html",
            "Create a client",
            status=err.status,
            form={"name": params["clientName"], **params},
            errors=_errors_of(err, ("name", "description", "tier", "callbackUrl")),
        )
    # The secret exists in clear only in this response: shown once, never stored, never in a
    # URL (no redirect), and the page is no-store like every page.
    return _page(
        request,
        who,
        "portal/created.html",
        f"Client {new.client.name} created",
        client=new.client,
        secret=new.consumer_secret,
    )


def _token_commands(tenant: Tenant, key: str, username: str) -> dict[str, str]:
    issuer = tenant.base_url.rstrip("/")
    curl = (
        f"curl -s -u '{key}:YOUR_CLIENT_SECRET' \\\n"
        f"  -d grant_type=password -d username={username} -d 'password=YOUR_PASSWORD' \\\n"
        f"  -d scope=PRODUCTION {issuer}/token"
    )
    agavepy = (
        "from agavepy.agave import Agave\n"
        f'ag = Agave(api_server="{issuer}", username="{username}", password="YOUR_PASSWORD",\n'
        f'           api_key="{key}", api_secret="YOUR_CLIENT_SECRET")\n'
        "ag.get_access_token()\n"
        "print(ag.token)"
    )
    return {"curl": curl, "agavepy": agavepy}


@router.get("/portal/clients/{name}")
async def client_page(request: Request, name: str) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    client, subs = await run_in_threadpool(clients.subscriptions, who.db, who.user, name)
    _, live = await run_in_threadpool(sessions.live, who.db, who.user, name)
    apis_now = await run_in_threadpool(apis.list_apis, who.db, who.tenant)
    subscribed = {(s.api.name, s.api.version, s.api.provider) for s in subs}
    return _page(
        request,
        who,
        "portal/client.html",
        f"Client {client.name}",
        client=client,
        subscriptions=subs,
        available=[a for a in apis_now if (a.name, a.version, a.provider) not in subscribed],
        sessions=live,
        commands=_token_commands(who.tenant, client.consumer_key, who.user.username),
    )


def _api_params(form: dict[str, str]) -> dict[str, str]:
    """``api`` is ``name|version|provider`` from the page's select, or ``*`` for every API."""
    choice = form.get("api", "")
    if choice == "*":
        return {"apiName": "*", "tier": form.get("tier", "")}
    name, _, rest = choice.partition("|")
    version, _, provider = rest.partition("|")
    if not name:
        raise BadRequest("Choose an API to subscribe to (or every API).")
    return {
        "apiName": name,
        "apiVersion": version,
        "apiProvider": provider,
        "tier": form.get("tier", ""),
    }


@router.post("/portal/clients/{name}/subscribe")
async def subscribe(request: Request, name: str) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    params = _api_params(form_of(request))
    _, api_name, added = await run_in_threadpool(
        clients.subscribe, who.db, who.tenant, who.user, name, params
    )
    what = "every API" if api_name == "*" else api_name
    return _back(who, f"/portal/clients/{name}", notice=f"Subscribed to {what} ({len(added)}).")


@router.post("/portal/clients/{name}/unsubscribe")
async def unsubscribe(request: Request, name: str) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    params = _api_params(form_of(request))
    params.pop("tier", None)
    _, api_name, _removed = await run_in_threadpool(
        clients.unsubscribe, who.db, who.tenant, who.user, name, params
    )
    return _back(who, f"/portal/clients/{name}", notice=f"Unsubscribed from {api_name}.")


@router.post("/portal/clients/{name}/sessions/revoke")
async def revoke_session(request: Request, name: str) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    family = form_of(request).get("session", "")
    await run_in_threadpool(sessions.revoke, who.db, who.user, name, family)
    await run_in_threadpool(_audit, request, who, "family.revoke", name, family=family[:64])
    notice = "Session revoked: its tokens stopped working."
    return _back(who, f"/portal/clients/{name}", notice=notice)


@router.get("/portal/clients/{name}/delete")
async def delete_form(request: Request, name: str) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    client = await run_in_threadpool(clients.get, who.db, who.user, name)
    return _page(request, who, "portal/delete.html", f"Delete {client.name}?", client=client)


@router.post("/portal/clients/{name}/delete")
async def delete_client(request: Request, name: str) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    client = await run_in_threadpool(clients.get, who.db, who.user, name)
    typed = form_of(request).get("confirm", "")
    if typed != client.name:
        return _page(
            request,
            who,
            "portal/delete.html",
            f"Delete {client.name}?",
            status=400,
            client=client,
            error=f"Type the client's name, {client.name}, exactly, to delete it.",
        )
    await run_in_threadpool(clients.delete, who.db, who.user, name)
    return _back(who, "/portal/clients", notice=f"Client {client.name} deleted.")


# -- my account -------------------------------------------------------------------------------
@router.get("/portal/account")
async def account(request: Request) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    given = await run_in_threadpool(consents.of_user, who.db, who.user)
    return _page(
        request,
        who,
        "portal/account.html",
        "My account",
        consents=given,
    )


@router.post("/portal/account/consents/revoke")
async def revoke_consent(request: Request) -> Response:
    who = await _visitor(request)
    if isinstance(who, Response):
        return who
    key = form_of(request).get("client", "")
    name = await run_in_threadpool(consents.withdraw_for_key, who.db, who.user, key)
    if name is None:
        raise NotFound("No consent of yours for that client.")
    await run_in_threadpool(_audit, request, who, "consent.revoke", key)
    return _back(who, "/portal/account", notice=f"Consent for {name} withdrawn.")


# -- tenant admins ----------------------------------------------------------------------------
@router.get("/portal/admin/users")
async def admin_users(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    users = await run_in_threadpool(user_store.list_users, who.db, who.tenant.id)
    return _page(
        request,
        who,
        "portal/admin_users.html",
        "Users",
        users=users,
        form={},
        errors={},
        reset_link=None,
    )


@router.post("/portal/admin/users")
async def admin_add_user(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    form = form_of(request)
    username = form.get("username", "").strip()
    try:
        await run_in_threadpool(
            accounts.add_user,
            who.db,
            who.tenant,
            username,
            form.get("password", ""),
            form.get("admin") == "1",
            form.get("email", "").strip(),
            form.get("first_name", "").strip(),
            form.get("last_name", "").strip(),
        )
    except (BadRequest, Conflict) as err:
        users = await run_in_threadpool(user_store.list_users, who.db, who.tenant.id)
        return _page(
            request,
            who,
            "portal/admin_users.html",
            "Users",
            status=err.status,
            users=users,
            form={k: v for k, v in form.items() if k != "password"},
            errors=_errors_of(err, ("username", "password", "email", "first_name", "last_name")),
            reset_link=None,
        )
    await run_in_threadpool(
        _audit, request, who, "user.add", username, admin=form.get("admin") == "1"
    )
    return _back(who, "/portal/admin/users", notice=f"User {username} added.")


@router.post("/portal/admin/users/{username}/disable")
async def admin_disable(request: Request, username: str) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    if username == who.user.username:
        raise BadRequest("You cannot disable your own account here.")
    revoked = await run_in_threadpool(accounts.set_disabled, who.db, who.tenant, username, True)
    await run_in_threadpool(_audit, request, who, "user.disable", username, tokens_revoked=revoked)
    return _back(
        who, "/portal/admin/users", notice=f"User {username} disabled; {revoked} tokens revoked."
    )


@router.post("/portal/admin/users/{username}/enable")
async def admin_enable(request: Request, username: str) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    await run_in_threadpool(accounts.set_disabled, who.db, who.tenant, username, False)
    await run_in_threadpool(_audit, request, who, "user.enable", username)
    return _back(who, "/portal/admin/users", notice=f"User {username} enabled.")


@router.post("/portal/admin/users/{username}/reset-link")
async def admin_reset_link(request: Request, username: str) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    secret = await run_in_threadpool(accounts.create_reset_link, who.db, who.tenant, username)
    await run_in_threadpool(_audit, request, who, "user.reset_link", username)
    users = await run_in_threadpool(user_store.list_users, who.db, who.tenant.id)
    return _page(
        request,
        who,
        "portal/admin_users.html",
        "Users",
        users=users,
        form={},
        errors={},
        reset_link={"username": username, "url": link(who.tenant, f"/portal/reset/{secret}")},
    )


@router.get("/portal/admin/apis")
async def admin_apis(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    apis_now = await run_in_threadpool(apis.list_apis, who.db, who.tenant)
    limits = await run_in_threadpool(_tier_limits, who)
    return _page(
        request,
        who,
        "portal/admin_apis.html",
        "API catalogue",
        apis=apis_now,
        tier_limits=limits,
        form={},
        errors={},
    )


def _tier_limits(who: Visitor) -> list[tuple[str, str, bool]]:
    """(tier, its rate, whether it is WSO2's default) for the catalogue page."""
    limits = tiers.effective_limits(who.db, who.tenant.id)
    return [(name, tiers.describe(limit), limit.is_default) for name, limit in limits.items()]


@router.post("/portal/admin/apis")
async def admin_add_api(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    form = form_of(request)
    try:
        api = await run_in_threadpool(_add_api, who, form)
    except AgaveError as err:
        apis_now = await run_in_threadpool(apis.list_apis, who.db, who.tenant)
        limits = await run_in_threadpool(_tier_limits, who)
        return _page(
            request,
            who,
            "portal/admin_apis.html",
            "API catalogue",
            status=err.status,
            apis=apis_now,
            tier_limits=limits,
            form=form,
            errors=_errors_of(err, ("name", "version", "provider", "context", "backend")),
        )
    await run_in_threadpool(_audit, request, who, "api.add", f"{api.name} {api.version}")
    return _back(who, "/portal/admin/apis", notice=f"API {api.name} {api.version} added.")


def _add_api(who: Visitor, form: dict[str, str]):
    return apis.add(
        who.db,
        who.tenant,
        form.get("name", "").strip(),
        form.get("version", "").strip() or "v2",
        form.get("provider", "").strip() or "admin",
        form.get("context", "").strip() or None,
        form.get("default") == "1",
        form.get("backend", "").strip() or None,
    )


@router.post("/portal/admin/apis/{api_id}/default")
async def admin_api_default(request: Request, api_id: int) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    make_default = form_of(request).get("default") == "1"
    api = await run_in_threadpool(apis.set_default, who.db, who.tenant, api_id, make_default)
    await run_in_threadpool(
        _audit, request, who, "api.update", f"{api.name} {api.version}", default=make_default
    )
    state_text = "is now a default API" if make_default else "is no longer a default API"
    return _back(who, "/portal/admin/apis", notice=f"{api.name} {state_text}.")


@router.post("/portal/admin/apis/{api_id}/remove")
async def admin_api_remove(request: Request, api_id: int) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    api = await run_in_threadpool(apis.remove, who.db, who.tenant, api_id)
    await run_in_threadpool(_audit, request, who, "api.remove", f"{api.name} {api.version}")
    return _back(who, "/portal/admin/apis", notice=f"API {api.name} {api.version} removed.")


@router.get("/portal/admin/failed-logins")
async def admin_failed_logins(request: Request) -> Response:
    who = await _admin(request)
    if isinstance(who, Response):
        return who
    throttle = state(request).throttle
    rows = await run_in_threadpool(recent_failures, throttle, who.tenant.id)
    return _page(
        request,
        who,
        "portal/admin_failed.html",
        "Recent failed logins",
        rows=rows,
        window=throttle.window,
        limit=throttle.per_account,
    )


# -- password reset links ---------------------------------------------------------------------
@router.get("/portal/reset/{secret}")
async def reset_form(request: Request, secret: str) -> Response:
    tenant = tenant_of(request)
    db = state(request).db
    user = await run_in_threadpool(accounts.reset_link_user, db, tenant, secret)
    if user is None:
        raise NotFound("This password reset link is unknown, used or expired: ask for a new one.")
    return page(
        request, tenant, "portal/reset.html", title="Choose a new password", target=user, error=""
    )


@router.post("/portal/reset/{secret}")
async def reset_password(request: Request, secret: str) -> Response:
    tenant = tenant_of(request)
    db = state(request).db
    form = form_of(request)
    password = form.get("password", "")
    user = await run_in_threadpool(accounts.reset_link_user, db, tenant, secret)
    if user is None:
        raise NotFound("This password reset link is unknown, used or expired: ask for a new one.")
    error = ""
    if password != form.get("confirm", ""):
        error = "The two passwords differ: type the same password twice."
    else:
        try:
            await run_in_threadpool(accounts.redeem_reset_link, db, tenant, secret, password)
        except BadRequest as err:
            error = err.message
    if error:
        return page(
            request,
            tenant,
            "portal/reset.html",
            title="Choose a new password",
            status=400,
            target=user,
            error=error,
        )
    return redirect(link(tenant, "/login", next="/portal/clients"))
