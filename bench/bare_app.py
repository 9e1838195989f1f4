"""A bare Starlette endpoint: the physical limit of a Python ASGI server here.

Served by uvicorn with the same worker count as our server, so the report
shows how much our own ``/health`` (and every scenario) costs above the bare
HTTP stack. No database, no middleware, no logging.
"""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


app = Starlette(routes=[Route("/health", health)])
