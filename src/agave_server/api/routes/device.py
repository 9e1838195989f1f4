"""``POST /oauth2/device/authorize``: RFC 8628's device authorization endpoint.

Thin: the OAuth request is built as for ``/token`` and answered by ``oauth.device``. The
verification page a person opens (``/device``) is in ``pages``.
"""

from __future__ import annotations

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ..answers import oauth_input, render
from ..context import state
from ..schemas import DeviceAuthorizationOut
from .docs import oauth_error_responses

router = APIRouter(tags=["oauth"])

DEVICE_BODY = {
    "requestBody": {
        "content": {
            "application/x-www-form-urlencoded": {
                "schema": {
                    "type": "object",
                    "properties": {
                        "client_id": {
                            "type": "string",
                            "description": "agave-cli (public), or send HTTP Basic key:secret",
                        },
                        "scope": {"type": "string"},
                    },
                }
            }
        }
    }
}


@router.post(
    "/oauth2/device/authorize",
    summary="Start a device login (RFC 8628): a device code and a user code to approve",
    description="The public client `agave-cli` sends `client_id`; any other client of the "
    "tenant authenticates with HTTP Basic (consumerKey:consumerSecret). Then poll `/token` "
    "with grant_type=urn:ietf:params:oauth:grant-type:device_code.",
    responses={
        200: {"model": DeviceAuthorizationOut, "description": "The codes and where to go"},
        **oauth_error_responses(400, 401),
    },
    openapi_extra={**DEVICE_BODY, "security": [{"clientBasicAuth": []}, {}]},
)
async def device_authorize(request: Request) -> Response:
    source = await oauth_input(request)
    if isinstance(source, Response):
        return source
    oauth = state(request).oauth
    answer = await run_in_threadpool(
        oauth.device_authorization_response, oauth.request(source, keep_scope=True)
    )
    return render(request, answer)
