"""The pages' stylesheet and the portal's script, served from the package (no CDN)."""

from __future__ import annotations

from importlib.resources import files

from starlette.requests import Request
from starlette.responses import Response

from .routing import page_router

router = page_router()
_CSS = files("agave_server.pages").joinpath("static/agave.css").read_bytes()
_PORTAL_JS = files("agave_server.pages").joinpath("static/portal.js").read_bytes()


@router.get("/static/agave.css")
async def stylesheet(request: Request) -> Response:
    return Response(
        _CSS,
        media_type="text/css",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )


@router.get("/static/portal.js")
async def portal_script(request: Request) -> Response:
    """The portal's one script (copy buttons); every action works without it."""
    return Response(
        _PORTAL_JS,
        media_type="text/javascript",
        headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
    )
