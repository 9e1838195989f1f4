"""The tenant's OAuth endpoints (token, revocation, introspection) as plain functions.

Shared by ``Agave.tokens`` and the standalone :class:`agavepy.token.Token`:
they take a :class:`Transport`, where the endpoints are (:class:`Endpoints`
from the tenant's discovery document, or a base URL for the Agave defaults)
and the client's key and secret, and return typed values. RFC 6749 errors are
mapped to the SDK's exceptions here; the password never appears in one.
"""

from __future__ import annotations

import time
from typing import Any

from agavepy._discovery import Endpoints, as_endpoints
from agavepy._transport import Transport, error_from_response, json_body
from agavepy.errors import (
    AgaveError,
    AuthenticationError,
    BadRequestError,
    ClientAuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    TokenExpiredError,
)
from agavepy.models import TokenInfo, TokenPair

SCOPE = "PRODUCTION"  # what agavepy and agave-cli send


def endpoint(base_url: str, path: str) -> str:
    """``baseUrl + /path``, folding the trailing slash agave-cli keeps on base URLs."""
    return base_url.rstrip("/") + "/" + path


def _token_request(
    transport: Transport,
    where: Endpoints | str,
    api_key: str,
    api_secret: str,
    data: dict[str, str],
    action: str,
) -> TokenPair:
    url = as_endpoints(where).token
    response = transport.request("POST", url, data=data, auth=(api_key, api_secret))
    if not response.is_success:
        raise _token_error(response, data["grant_type"], action)
    body = json_body(response)
    if not isinstance(body, dict) or not body.get("access_token"):
        raise AgaveError(
            f"{action} failed: the token endpoint sent no access token", status=response.status_code
        )
    return TokenPair.from_json(body, created_at=int(time.time()))


def _token_error(response: Any, grant_type: str, action: str) -> AgaveError:
    body = json_body(response)
    code = body.get("error") if isinstance(body, dict) else None
    said = body.get("error_description") if isinstance(body, dict) else None
    status = response.status_code
    if code == "invalid_client" or status == 401:
        return ClientAuthenticationError(
            f"{action} failed: the client's key and secret were refused",
            status=status,
            response=response,
            server_message=said,
        )
    if code == "invalid_grant" and grant_type == "refresh_token":
        return TokenExpiredError(
            f"{action} failed: the refresh token is no longer valid",
            status=status,
            response=response,
            server_message=said,
        )
    if code == "invalid_grant":
        return AuthenticationError(
            f"{action} failed: wrong username or password",
            status=status,
            response=response,
            server_message=said,
        )
    if code in ("invalid_request", "unsupported_grant_type", "invalid_scope"):
        return BadRequestError(
            f"{action} failed", status=status, response=response, server_message=said
        )
    return error_from_response(response, action)


def password_grant(
    transport: Transport,
    where: Endpoints | str,
    api_key: str,
    api_secret: str,
    username: str,
    password: str,
) -> TokenPair:
    """A new token pair for ``username`` (grant_type=password)."""
    data = {"grant_type": "password", "username": username, "password": password, "scope": SCOPE}
    return _token_request(transport, where, api_key, api_secret, data, "getting a token")


def refresh_grant(
    transport: Transport,
    where: Endpoints | str,
    api_key: str,
    api_secret: str,
    refresh_token: str,
) -> TokenPair:
    """A new token pair from a refresh token; the old pair stops working (rotation)."""
    if not refresh_token:
        raise TokenExpiredError("no refresh token to refresh with")
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": SCOPE}
    return _token_request(transport, where, api_key, api_secret, data, "refreshing the token")


def revoke(
    transport: Transport, where: Endpoints | str, api_key: str, api_secret: str, token: str
) -> None:
    """Revoke an access or refresh token (RFC 7009: unknown tokens are not an error)."""
    url = as_endpoints(where).revocation
    response = transport.request("POST", url, data={"token": token}, auth=(api_key, api_secret))
    if not response.is_success:
        raise _token_error(response, "revoke", "revoking the token")


def introspect(
    transport: Transport, where: Endpoints | str, api_key: str, api_secret: str, token: str
) -> TokenInfo:
    """What the tenant says about a token (RFC 7662), asked as the client ``api_key``.

    An inactive token (revoked, expired, junk, another tenant's, or one this client may not
    look at) is a :class:`TokenInfo` with ``active`` False, not an error: that is the answer.
    """
    url = as_endpoints(where).introspection
    response = transport.request("POST", url, data={"token": token}, auth=(api_key, api_secret))
    action = "introspecting the token"
    if response.status_code == 404:
        raise NotFoundError(
            f"{action} failed: the tenant has no introspection endpoint at {url}",
            status=404,
            response=response,
            hint="this tenant does not offer RFC 7662 introspection",
        )
    if response.status_code == 403:
        body = json_body(response)
        said = body.get("error_description") if isinstance(body, dict) else None
        raise PermissionDeniedError(
            f"{action} failed: the client may not introspect tokens",
            status=403,
            response=response,
            server_message=said,
        )
    if not response.is_success:
        raise _token_error(response, "introspection", action)
    body = json_body(response)
    if not isinstance(body, dict) or not isinstance(body.get("active"), bool):
        raise AgaveError(
            f"{action} failed: the answer is not an RFC 7662 introspection response",
            status=response.status_code,
            response=response,
        )
    return TokenInfo.from_json(body)
