"""``GET /metrics`` (Prometheus, allowed addresses only) and ``GET /health/ready``.

``/metrics`` answers 404, exactly as for a path that does not exist, to any connection whose
peer address is not in ``AGAVE_SERVER_METRICS_ALLOW``: an outsider learns nothing, not even
that the endpoint is there. ``/health/ready`` is public, as a load balancer needs it, and
names its checks but not their error messages.
"""

from __future__ import annotations

import json
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ... import metrics, readiness
from ..context import state
from ..observability import AddressAllowList

router = APIRouter(tags=["health"])


class CheckOut(BaseModel):
    status: Literal["ok", "fail"]
    duration_ms: float | None = None
    detail: str | None = None
    error: str | None = None


class ReadinessOut(BaseModel):
    status: Literal["ready", "unavailable"]
    checks: dict[str, CheckOut]


_allow_lists: dict[str, AddressAllowList] = {}


def _allow_list(cidrs: str) -> AddressAllowList:
    found = _allow_lists.get(cidrs)
    if found is None:
        found = _allow_lists[cidrs] = AddressAllowList(cidrs)
    return found


@router.get("/metrics", include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    if not _allow_list(state(request).settings.metrics_allow).allows_request(request.scope):
        raise HTTPException(404)
    metrics.flush()  # this worker's latest counts; the others' are at most a second old
    body = await run_in_threadpool(metrics.exposition)  # reads every worker's files
    return Response(body, media_type=metrics.CONTENT_TYPE, headers={"Cache-Control": "no-store"})


@router.get(
    "/health/ready",
    summary="Readiness for a load balancer: database (and Redis, LDAP when configured)",
    responses={
        200: {"model": ReadinessOut, "description": "Every check passed"},
        503: {"model": ReadinessOut, "description": "Some check failed or did not answer in time"},
    },
)
async def ready(request: Request) -> Response:
    ok, checks = await readiness.run_checks(state(request).settings.ready_timeout)
    body = {"status": "ready" if ok else "unavailable", "checks": checks}
    return Response(
        json.dumps(body, indent=None, separators=(",", ":")),
        status_code=200 if ok else 503,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )
