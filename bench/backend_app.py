"""The trivial backend behind the gateway scenarios: any path, a tiny JSON answer.

It reads nothing (not even the assertion), so what the gateway scenarios measure is nginx,
the decision and the proxying, not a backend's own work.
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def anything(request: Request) -> JSONResponse:
    return JSONResponse({"ok": True})


app = Starlette(routes=[Route("/{path:path}", anything)])
