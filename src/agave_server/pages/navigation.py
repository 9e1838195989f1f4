"""Where pages send people: same-origin "return to" paths, and absolute links from the
tenant's stored base URL (never from the request's ``Host``, which a client chooses)."""

from __future__ import annotations

import re
from urllib.parse import urlencode, urlsplit

from ..storage.records import Tenant

MAX_NEXT = 4096
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def issuer(tenant: Tenant) -> str:
    """The tenant's issuer: its base URL without the trailing slash."""
    return tenant.base_url.rstrip("/")


def link(tenant: Tenant, path: str, **query: str) -> str:
    """An absolute URL on this tenant, e.g. ``link(t, "/login", next="/oauth2/authorize")``."""
    url = issuer(tenant) + path
    params = {k: v for k, v in query.items() if v is not None}
    return f"{url}?{urlencode(params)}" if params else url


def safe_next(value: str | None) -> str | None:
    """``value`` if it is a path on this origin (``/x?y``), else None.

    Refused: absolute and scheme-relative URLs (``https://x``, ``//x``, ``/\\x``, which
    browsers read as ``//x``), anything with a backslash or a control character, and
    overlong values. What is left can only name a path of this tenant.
    """
    if not value or len(value) > MAX_NEXT or not value.startswith("/"):
        return None
    if value.startswith("//") or "\\" in value or _CONTROL.search(value):
        return None
    parts = urlsplit(value)
    if parts.scheme or parts.netloc:
        return None
    return value
