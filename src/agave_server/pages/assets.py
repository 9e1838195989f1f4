"""The pages' one stylesheet, served from the package (no CDN, nothing the CSP must allow)."""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response

from .routing import page_router

router = page_router()
_CSS = files("agave_server.pages").joinpath("static/agave.css").read_bytes()


@router.get("/static/agave.css")
async def stylesheet(request: Request) -> Response:
    return Response(
        _CSS,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
