"""The per-tenant browser session: who is signed in to this tenant's pages.

One cookie per tenant, named for its code (``agave_session_<code>``), because cookies ignore
ports and several tenants may share a host. The cookie holds a random id; the database holds
only its digest (``storage.browser_sessions``), so sign-out and "sign out everywhere" work
across processes, and a copy of the database cannot be replayed as a cookie. Every sign-in
makes a new id and ends the session the browser had before (no fixation). The cookie is
HttpOnly, SameSite=Lax, and Secure when the tenant's issuer is https.
"""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import Response

from ..security import digest, new_secret
from ..storage import Database
from ..storage import browser_sessions as store
from ..storage.browser_sessions import BrowserSession
from ..storage.records import Tenant, User

_COOKIE_SAFE = re.compile(r"[^A-Za-z0-9_]")
_ID = re.compile(r"[A-Za-z0-9]{20,100}")


def cookie_name(tenant: Tenant, what: str = "session") -> str:
    """``agave_<what>_<tenant code>`` (characters a cookie name cannot hold become ``_``)."""
    return f"agave_{what}_{_COOKIE_SAFE.sub('_', tenant.code)}"


def is_secure(tenant: Tenant) -> bool:
    return tenant.base_url.startswith("https://")


def set_cookie(response: Response, tenant: Tenant, name: str, value: str, max_age: int) -> None:
    """A cookie of these pages: HttpOnly, SameSite=Lax, whole host, Secure on https."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_secure(tenant),
    )


def clear_cookie(response: Response, tenant: Tenant, name: str) -> None:
    response.delete_cookie(name, path="/", httponly=True, samesite="lax", secure=is_secure(tenant))


def _presented_id(request: Request, tenant: Tenant) -> str | None:
    value = request.cookies.get(cookie_name(tenant))
    return value if value and _ID.fullmatch(value) else None


def current(request: Request, db: Database, tenant: Tenant) -> BrowserSession | None:
    """The live session this browser presents for this tenant, if any (a database read;
    cached on the request so a page asks once)."""
    cache = request.scope.setdefault("agave.sessions", {})
    if tenant.id not in cache:
        presented = _presented_id(request, tenant)
        cache[tenant.id] = store.find_live(db, tenant.id, digest(presented)) if presented else None
    return cache[tenant.id]


def sign_in(
    request: Request, response: Response, db: Database, tenant: Tenant, user: User, lifetime: int
) -> BrowserSession:
    """Start a session with a new id (ending the one presented, whoever it belonged to)."""
    presented = _presented_id(request, tenant)
    if presented:
        store.end(db, tenant.id, digest(presented))
    session_id = new_secret()
    store.start(db, tenant.id, user.id, digest(session_id), lifetime)
    set_cookie(response, tenant, cookie_name(tenant), session_id, lifetime)
    request.scope.setdefault("agave.sessions", {})[tenant.id] = None  # re-read if asked
    found = store.find_live(db, tenant.id, digest(session_id))
    assert found is not None
    return found


def sign_out(
    request: Request, response: Response, db: Database, tenant: Tenant, everywhere: bool = False
) -> int:
    """End this browser's session (and with ``everywhere`` every session of its user);
    returns how many sessions ended."""
    presented = _presented_id(request, tenant)
    clear_cookie(response, tenant, cookie_name(tenant))
    request.scope.setdefault("agave.sessions", {})[tenant.id] = None
    if not presented:
        return 0
    user_id = store.end(db, tenant.id, digest(presented))
    if user_id is None:
        return 0
    return 1 + (store.end_all(db, user_id) if everywhere else 0)
