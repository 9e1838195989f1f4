"""The tenants service: ``GET /tenants`` and ``GET /tenants/{code}`` (no authentication)."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ...errors import NotFound
from ..context import state
from ..envelope import envelope
from ..representations import tenant_json
from ..schemas import ENVELOPE_PARAMS_NOTE, PAGING, PRETTY, Envelope, TenantOut, path_param
from .docs import error_responses

router = APIRouter(tags=["tenants"])


@router.get(
    "/tenants",
    summary="List the tenants this server hosts",
    description="Agave's tenants service (AGAVE_TENANTS_API_BASEURL points here)."
    + ENVELOPE_PARAMS_NOTE,
    responses={
        200: {"model": Envelope[list[TenantOut]], "description": "The tenants"},
        **error_responses(400),
    },
    openapi_extra={"parameters": [PRETTY, *PAGING]},
)
async def list_tenants(request: Request) -> Response:
    tenants = await run_in_threadpool(state(request).tenants.all)
    return envelope([tenant_json(t) for t in tenants], "", request.query_params)


@router.get(
    "/tenants/{code}",
    summary="Show one tenant",
    description="agave-cli's `tenants-list CODE`." + ENVELOPE_PARAMS_NOTE,
    responses={
        200: {"model": Envelope[TenantOut], "description": "The tenant"},
        **error_responses(400, 404),
    },
    openapi_extra={"parameters": [path_param("code", "tenant code, e.g. sd2e"), PRETTY]},
)
async def show_tenant(request: Request) -> Response:
    code = request.path_params["code"]
    tenant = await run_in_threadpool(state(request).tenants.by_code, code)
    if tenant is None:
        raise NotFound(f"No tenant {code[:64]} on this server.")
    return envelope(tenant_json(tenant), "", request.query_params)
