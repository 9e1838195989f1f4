"""Discovery: ``/.well-known/openid-configuration`` and ``/.well-known/oauth-authorization-server``.

Built by ``oauth/metadata.py`` from what the server registered, with every URL under the
tenant's stored base URL (never the request's Host).
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..context import state, tenant_of
from ..envelope import json_response
from ..schemas import DiscoveryOut
from .docs import error_responses

router = APIRouter(tags=["oauth"])
_CACHE = {"Cache-Control": "public, max-age=300"}


async def _document(request: Request, openid: bool) -> Response:
    tenant = tenant_of(request)
    body = await run_in_threadpool(state(request).oauth.discovery, tenant, openid)
    return json_response(body, headers=_CACHE)


@router.get(
    "/.well-known/openid-configuration",
    summary="OpenID Connect Discovery 1.0 metadata of the tenant",
    responses={200: {"model": DiscoveryOut, "description": "Metadata"}, **error_responses(404)},
)
async def openid_configuration(request: Request) -> Response:
    return await _document(request, openid=True)


@router.get(
    "/.well-known/oauth-authorization-server",
    summary="OAuth 2.0 Authorization Server Metadata (RFC 8414) of the tenant",
    responses={200: {"model": DiscoveryOut, "description": "Metadata"}, **error_responses(404)},
)
async def authorization_server(request: Request) -> Response:
    return await _document(request, openid=False)
