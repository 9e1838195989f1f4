"""The security headers of every page, set in one middleware.

Pages get a Content-Security-Policy that allows nothing but this origin's stylesheet and
images (no script, no framing, forms posting only here), ``X-Frame-Options: DENY``,
``no-store`` (a page may show a signed-in user or a CSRF token), ``nosniff`` and no Referer
(authorization URLs carry ``state`` and codes). A page is a response of a ``PageRoute``
(it marks the scope) or any ``text/html`` response. A page that must let a form's redirect
chain leave this origin (consent, sign-in in the middle of an authorization) sets its own
CSP through ``policy()``; the middleware never overrides a header a response already has.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_MARK = "agave.page"


def policy(form_targets: Iterable[str] = ()) -> str:
    """The Content-Security-Policy of a page; ``form_targets`` are extra origins that a form
    submission may end up at through redirects (Chromium checks form-action on each hop)."""
    targets = " ".join(["'self'", *sorted(set(form_targets))])
    return (
        "default-src 'none'; style-src 'self'; img-src 'self'; "
        f"form-action {targets}; frame-ancestors 'none'; base-uri 'none'"
    )


_DEFAULTS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", policy().encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
)


def _is_page(scope: Scope, headers: list[tuple[bytes, bytes]]) -> bool:
    if scope.get(PAGE_MARK):
        return True
    for name, value in headers:
        if name.lower() == b"content-type":
            return value.lower().startswith(b"text/html")
    return False


class SecurityHeaders:
    """Pure ASGI: adds the missing security headers to every page response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                if _is_page(scope, headers):
                    present = {name.lower() for name, _ in headers}
                    headers += [(k, v) for k, v in _DEFAULTS if k not in present]
                    message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)
