"""``GET /oauth2/jwks`` (RFC 7517) and Agave's ``GET /apim/v2/publickey``: the tenant's keys.

Both answer public keys only. Verifiers may cache the JWKS for ``jwks_max_age`` seconds
(Cache-Control); a rotated-in key is published that long before it signs.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from ..context import state, tenant_of
from ..envelope import json_response
from ..schemas import Jwks
from .docs import error_responses

router = APIRouter(tags=["oauth"])


def _cache(request: Request) -> dict[str, str]:
    return {"Cache-Control": f"public, max-age={state(request).settings.jwks_max_age}"}


@router.get(
    "/oauth2/jwks",
    summary="The tenant's public signing keys (JWKS, RFC 7517)",
    description="Every key that signs or signed tokens that may still be valid, by `kid`.",
    responses={200: {"model": Jwks, "description": "The key set"}, **error_responses(404)},
)
async def jwks(request: Request) -> Response:
    tenant = tenant_of(request)
    body = await run_in_threadpool(state(request).keys.jwks, tenant)
    return json_response(body, headers=_cache(request))


@router.get(
    "/apim/v2/publickey",
    summary="The current signing key as a PEM X.509 certificate (Agave's publickey link)",
    description="What Agave's services read to verify the tenant's JWTs: one self-signed "
    "certificate of the key that signs now. New verifiers should use /oauth2/jwks, which "
    "also lists keys that were rotated out but still verify.",
    response_class=PlainTextResponse,
    responses={
        200: {
            "content": {"text/plain": {"schema": {"type": "string"}}},
            "description": "PEM certificate",
        },
        **error_responses(404),
    },
)
async def publickey(request: Request) -> Response:
    tenant = tenant_of(request)
    pem = await run_in_threadpool(state(request).keys.public_certificate_pem, tenant)
    return PlainTextResponse(pem, headers=_cache(request))
