"""``GET /profiles/v2/me``: the protected resource users check their tokens with.

This is the hot path: the bearer validator (oauth/bearer.py) does one indexed query (token ->
user, plus the Profiles subscription gate; a JWT's signature is checked once per process;
on PostgreSQL, batched with the other requests of the loop's turn), no framework
dependencies, no worker-thread hop. Rejections use WSO2's fault bodies.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from ...oauth.bearer import bearer_from_header
from ..context import state, tenant_of
from ..envelope import envelope, forbidden_fault, invalid_credentials_fault
from ..hot_paths import hot
from ..representations import profile_json
from ..schemas import ENVELOPE_PARAMS_NOTE, PRETTY, Envelope, Fault, ProfileOut
from .docs import error_responses

router = APIRouter(tags=["profiles"])


@router.get(
    "/profiles/v2/me",
    summary="The profile of the token's user",
    description="Bearer token in `Authorization: Bearer <access_token>`." + ENVELOPE_PARAMS_NOTE,
    responses={
        200: {"model": Envelope[ProfileOut], "description": "The token's user"},
        401: {"model": Fault, "description": "Missing, unknown, expired or revoked token (900901)"},
        403: {"model": Fault, "description": "Client not subscribed to Profiles (900908)"},
        **error_responses(400),
    },
    openapi_extra={"parameters": [PRETTY], "security": [{"bearerAuth": []}]},
)
@hot
async def me(request: Request) -> Response:
    token = bearer_from_header(request.headers.get("authorization"))
    if token is None:
        return invalid_credentials_fault()
    tenant = tenant_of(request)
    grant = await state(request).oauth.bearer.access_on_loop(tenant, token, "Profiles")
    if grant is None:
        return invalid_credentials_fault()
    if not grant.subscribed:
        return forbidden_fault()
    params = request.query_params if request.scope["query_string"] else {}
    return envelope(profile_json(tenant, grant.user), "", params)
