"""``GET|POST /oauth2/userinfo`` (OpenID Connect Core section 5.3): the claims of the token's user.

The bearer validator (``oauth/bearer.py``) decides whether the access token is good; the
token must carry the ``openid`` scope (a code-flow token asked for it), and the claims are
those its scopes allow. Errors are RFC 6750's: 401 with ``WWW-Authenticate: Bearer
error="invalid_token"``, or 403 ``insufficient_scope``.
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ...oauth.bearer import bearer_from_header
from ...oauth.oidc import user_info
from ..context import state, tenant_of

router = APIRouter(tags=["openid connect"])


class UserInfoOut(BaseModel):
    """The claims of the token's user (OpenID Connect Core section 5.1) its scopes allow."""

    sub: str
    preferred_username: str | None = None
    name: str | None = None
    given_name: str | None = None
    family_name: str | None = None
    email: str | None = None


class BearerError(BaseModel):
    """RFC 6750 section 3.1 (the same in the WWW-Authenticate challenge)."""

    error: Literal["invalid_request", "invalid_token", "insufficient_scope"]
    error_description: str


_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": UserInfoOut, "description": "sub, and the claims the token's scopes allow"},
    401: {"model": BearerError, "description": "Missing, unknown, expired or revoked token"},
    403: {"model": BearerError, "description": "The token lacks the openid scope"},
}
USERINFO_PATH = "/oauth2/userinfo"


def _refused(status: int, error: str | None, description: str, tenant_code: str) -> Response:
    challenge = f'Bearer realm="Agave tenant {tenant_code}"'
    body: dict[str, str] = {}
    if error:
        challenge += f', error="{error}", error_description="{description}"'
        body = {"error": error, "error_description": description}
    else:
        body = {"error": "invalid_request", "error_description": description}
    return JSONResponse(
        body, status, headers={"WWW-Authenticate": challenge, "Cache-Control": "no-store"}
    )


async def _userinfo(request: Request) -> Response:
    tenant = tenant_of(request)
    token = bearer_from_header(request.headers.get("authorization"))
    if token is None:
        return _refused(
            401, None, "Send the access token as Authorization: Bearer <token>.", tenant.code
        )
    grant = await run_in_threadpool(state(request).oauth.bearer.access, tenant, token)
    if grant is None:
        return _refused(
            401, "invalid_token", "The access token is unknown, expired or revoked.", tenant.code
        )
    if "openid" not in grant.scope.split():
        return _refused(
            403,
            "insufficient_scope",
            "This access token was not issued for the openid scope.",
            tenant.code,
        )
    return JSONResponse(
        dict(user_info(grant.user, grant.scope)), headers={"Cache-Control": "no-store"}
    )


@router.get(
    USERINFO_PATH,
    summary="The OpenID Connect claims of the access token's user",
    responses=_RESPONSES,
    openapi_extra={"security": [{"bearerAuth": []}]},
)
async def userinfo(request: Request) -> Response:
    return await _userinfo(request)


@router.post(
    USERINFO_PATH,
    summary="The same as GET (OpenID Connect allows both)",
    responses=_RESPONSES,
    openapi_extra={"security": [{"bearerAuth": []}]},
)
async def userinfo_post(request: Request) -> Response:
    return await _userinfo(request)
