"""CSRF protection for every form of these pages (signed double submit, OWASP's pattern).

The browser holds a random secret in an HttpOnly cookie (``agave_csrf_<tenant code>``); every
form carries ``csrf_token`` = HMAC-SHA256(secret, purpose). Another site can make the browser
send the cookie but can neither read it nor compute the token, so a POST without the right
token is refused before its handler runs (``routing.PageRoute``). The secret is replaced at
sign-in and sign-out, so a token seen before a sign-in is worthless after it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from starlette.requests import Request
from starlette.responses import Response

from ..security import new_secret
from ..storage.records import Tenant
from .session import clear_cookie, cookie_name, set_cookie

FIELD = "csrf_token"
_PURPOSE = b"agave-pages-form"
_NEW = "agave.csrf_new"
_SECRET = re.compile(r"[A-Za-z0-9]{20,100}")
# Long enough for a form left open over lunch; the cookie is renewed on every page.
COOKIE_SECONDS = 12 * 3600


class CsrfRefused(Exception):
    """The POST did not carry the token of this browser's secret."""


def _token(secret: str) -> str:
    mac = hmac.new(secret.encode(), _PURPOSE, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def _secret(request: Request, tenant: Tenant) -> str | None:
    new = request.scope.get(_NEW)
    if new:
        return new
    value = request.cookies.get(cookie_name(tenant, "csrf"))
    return value if value and _SECRET.fullmatch(value) else None


def token_for(request: Request, tenant: Tenant) -> str:
    """The token to put in this page's forms (making the browser a secret if it has none)."""
    secret = _secret(request, tenant)
    if secret is None:
        secret = renew(request)
    return _token(secret)


def renew(request: Request) -> str:
    """A new secret for this browser (sign-in, sign-out); ``attach`` sends it."""
    secret = new_secret()
    request.scope[_NEW] = secret
    return secret


def attach(request: Request, response: Response, tenant: Tenant) -> None:
    """Send the browser its new secret, if this request made one."""
    new = request.scope.get(_NEW)
    if new:
        set_cookie(response, tenant, cookie_name(tenant, "csrf"), new, COOKIE_SECONDS)


def forget(response: Response, tenant: Tenant) -> None:
    clear_cookie(response, tenant, cookie_name(tenant, "csrf"))


def check(request: Request, tenant: Tenant, form: dict[str, str]) -> None:
    """Raise ``CsrfRefused`` unless the form's token matches the browser's cookie."""
    value = request.cookies.get(cookie_name(tenant, "csrf"))
    sent = form.get(FIELD, "")
    if not value or not _SECRET.fullmatch(value) or not sent:
        raise CsrfRefused
    if not hmac.compare_digest(sent.encode(), _token(value).encode()):
        raise CsrfRefused
