"""Pure-ASGI middleware that runs before routing: lenient paths and the body size limit.

Paths: repeated slashes are folded and a trailing slash dropped (agave-cli posts to ``//token``;
``/clients/v2/`` is common), without redirects, which ``curl -sk`` would not follow.
Bodies: anything over the limit is answered 413 before any parsing, whether it announces its
length or streams it chunked.
"""

from __future__ import annotations

import re

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .envelope import error_envelope

_SLASHES = re.compile(r"/{2,}")


def lenient_path(path: str) -> str:
    """``path`` with repeated slashes folded and a trailing slash dropped."""
    if "//" not in path and (len(path) == 1 or not path.endswith("/")):
        return path  # the usual case, without the regular expression
    folded = _SLASHES.sub("/", path)
    if len(folded) > 1 and folded.endswith("/"):
        folded = folded.rstrip("/") or "/"
    return folded


class LenientPaths:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            fixed = lenient_path(path)
            if fixed != path:
                scope = dict(scope)
                scope["path"] = fixed
                scope["raw_path"] = fixed.encode("latin-1", "replace")
        await self.app(scope, receive, send)


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _too_large(self) -> object:
        return error_envelope(
            413,
            f"The request body is larger than {self.max_bytes} bytes; "
            "this server accepts bodies up to that size.",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = None
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    response = error_envelope(400, "The Content-Length header is not a number.")
                    await response(scope, receive, send)
                    return
        if declared is not None and declared > self.max_bytes:
            await self._too_large()(scope, receive, send)
            return
        if declared is not None:
            await self.app(scope, receive, send)
            return
        # No declared length (chunked or none): buffer up to the limit, then replay.
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)
