"""Which redirect URIs a client may use (RFC 6749 section 3.1.2, RFC 8252 section 7.3).

A client has one registered redirect URI, its ``callbackUrl``; a request must present exactly
that string, with one exception: a callback on the IPv4 or IPv6 loopback address over plain
http (``http://127.0.0.1/...``, ``http://[::1]/...``) matches on any port, because native
apps listen on whatever port the OS gives them. ``localhost`` gets no such exception (a name
can resolve elsewhere; RFC 8252 section 8.3), nor does any other host.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK_HOSTS = ("127.0.0.1", "::1")


def is_loopback(uri: str) -> bool:
    """An ``http`` URI on a loopback IP literal (what the any-port rule applies to)."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        return False
    return parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS


def _without_port(uri: str) -> tuple[str, str, str, str, str]:
    parts = urlsplit(uri)
    host = parts.hostname or ""
    return (parts.scheme, host, parts.path, parts.query, parts.fragment)


def matches(registered: str, presented: str) -> bool:
    """Whether ``presented`` is the client's ``registered`` redirect URI."""
    if not registered or not presented:
        return False
    if presented == registered:
        return True
    if not (is_loopback(registered) and is_loopback(presented)):
        return False
    # The same URI but for the port: scheme, IP literal, path and query all equal.
    return _without_port(registered) == _without_port(presented) and "@" not in presented


def origin(uri: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URI (for a page's CSP form-action), else None."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"
