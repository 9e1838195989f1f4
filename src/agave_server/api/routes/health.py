"""``GET /health``: liveness without touching the database (the benchmarks' bare endpoint)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ..hot_paths import hot
from ..schemas import Health

router = APIRouter(tags=["health"])
_OK = b'{"status":"ok"}'


@router.get("/health", responses={200: {"model": Health, "description": "The process answers"}})
@hot
async def health(request: Request) -> Response:
    return Response(_OK, media_type="application/json")
