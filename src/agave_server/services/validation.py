"""Checks on user-supplied values; each failure names the field, the value and what is allowed."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from agavepy.wire import CLIENT_NAME_PATTERN, CLIENT_NAME_RULE, DEFAULT_TIER, TIERS, canonical_tier

from ..errors import BadRequest

CLIENT_NAME_RE = re.compile(CLIENT_NAME_PATTERN)
USERNAME_RE = re.compile(r"[A-Za-z0-9_.@-]{1,64}")
TENANT_CODE_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
API_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
MAX_DESCRIPTION = 1000
MAX_URL = 2048
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _shown(value: str, limit: int = 40) -> str:
    """A value quoted for an error message, shortened and with control characters escaped."""
    text = value if len(value) <= limit else value[:limit] + "..."
    return repr(text)


def client_name(value: str | None, field: str = "clientName") -> str:
    if value is None or value == "":
        raise BadRequest(f"Missing required field '{field}'.", field=field)
    if not CLIENT_NAME_RE.fullmatch(value):
        raise BadRequest(f"Invalid {field} {_shown(value)}: use {CLIENT_NAME_RULE}", field=field)
    return value


def tier(value: str | None, field: str = "tier", required: bool = False) -> str:
    """A tier in any case, returned in its canonical spelling; default Unlimited.

    ``required``: an empty value is refused instead (an update that names the field).
    """
    if (value is None or value == "") and not required:
        return DEFAULT_TIER
    known = canonical_tier(value or "")
    if known:
        return known
    raise BadRequest(
        f"Invalid {field} {_shown(value)}: use one of {', '.join(TIERS)}.", field=field
    )


def text(value: str | None, field: str, max_length: int) -> str:
    """Free text: any printable Unicode up to ``max_length`` characters; empty when absent."""
    if value is None:
        return ""
    if len(value) > max_length:
        raise BadRequest(
            f"Field '{field}' is too long: {len(value)} characters, at most {max_length}.",
            field=field,
        )
    if _CONTROL.search(value):
        raise BadRequest(
            f"Field '{field}' contains control characters; they are not allowed.", field=field
        )
    return value


def callback_url(value: str | None) -> str:
    url = text(value, "callbackUrl", MAX_URL)
    if url and not re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", url):
        raise BadRequest(
            f"Invalid callbackUrl {_shown(url)}: expected an absolute URL or ''.",
            field="callbackUrl",
        )
    return url


def redirect_url(value: str | None, field: str) -> str:
    """A URL a browser is sent to (``callbackUrl``, ``postLogoutRedirectUri``) on update.

    Absolute ``http``/``https`` with a host and no fragment (RFC 6749 section 3.1.2), or ``''``
    to clear it. Stricter than create's ``callbackUrl``, which the old tools fill freely.
    """
    url = text(value, field, MAX_URL)
    if not url:
        return ""
    allowed = "an absolute http:// or https:// URL without a #fragment, or '' to clear it"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        raise BadRequest(
            f"Invalid {field} {_shown(url)}: expected {allowed}.", field=field
        ) from None
    if parts.scheme.lower() not in ("http", "https") or not host or any(c.isspace() for c in url):
        raise BadRequest(f"Invalid {field} {_shown(url)}: expected {allowed}.", field=field)
    if "#" in url:
        raise BadRequest(
            f"Invalid {field} {_shown(url)}: a redirect URL must not have a #fragment "
            "(RFC 6749 section 3.1.2).",
            field=field,
        )
    return url


def api_field(value: str | None, field: str) -> str | None:
    if value is None or value == "":
        return None
    if value != "*" and not API_NAME_RE.fullmatch(value):
        raise BadRequest(f"Invalid {field} {_shown(value)}: use {CLIENT_NAME_RULE}", field=field)
    return value


def username(value: str) -> str:
    if not USERNAME_RE.fullmatch(value or ""):
        raise BadRequest(
            f"Invalid username {_shown(value or '')}: use 1 to 64 characters "
            "from A-Z a-z 0-9 _ . @ -",
            field="username",
        )
    return value


def tenant_code(value: str) -> str:
    if not TENANT_CODE_RE.fullmatch(value or ""):
        raise BadRequest(
            f"Invalid tenant code {_shown(value or '')}: use 1 to 64 characters "
            "from A-Z a-z 0-9 _ . -",
            field="tenant",
        )
    return value
