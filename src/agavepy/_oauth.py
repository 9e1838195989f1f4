"""The tenant's OAuth endpoints (``POST /token``, ``POST /revoke``) as plain functions.

Shared by ``Agave.tokens`` and the standalone :class:`agavepy.token.Token`:
they take a :class:`Transport`, the tenant's base URL and the client's key
and secret, and return typed :class:`TokenPair` values. RFC 6749 errors are
mapped to the SDK's exceptions here; the password never appears in one.
"""

from __future__ import annotations

import time
from typing import Any

from agavepy._transport import Transport, error_from_response, json_body
from agavepy.errors import (
    AgaveError,
    AuthenticationError,
    BadRequestError,
    InvalidClientError,
    TokenExpiredError,
)
from agavepy.models import TokenPair

SCOPE = "PRODUCTION"  # what agavepy and agave-cli send


def endpoint(base_url: str, path: str) -> str:
    """``baseUrl + /path``, folding the trailing slash agave-cli keeps on base URLs."""
    return base_url.rstrip("/") + "/" + path


def _token_request(
    transport: Transport,
    base_url: str,
    api_key: str,
    api_secret: str,
    data: dict[str, str],
    action: str,
) -> TokenPair:
    response = transport.request(
        "POST", endpoint(base_url, "token"), data=data, auth=(api_key, api_secret)
    )
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
        return InvalidClientError(
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
    base_url: str,
    api_key: str,
    api_secret: str,
    username: str,
    password: str,
) -> TokenPair:
    """A new token pair for ``username`` (grant_type=password)."""
    data = {"grant_type": "password", "username": username, "password": password, "scope": SCOPE}
    return _token_request(transport, base_url, api_key, api_secret, data, "getting a token")


def refresh_grant(
    transport: Transport, base_url: str, api_key: str, api_secret: str, refresh_token: str
) -> TokenPair:
    """A new token pair from a refresh token; the old pair stops working (rotation)."""
    if not refresh_token:
        raise TokenExpiredError("no refresh token to refresh with")
    data = {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": SCOPE}
    return _token_request(transport, base_url, api_key, api_secret, data, "refreshing the token")


def revoke(transport: Transport, base_url: str, api_key: str, api_secret: str, token: str) -> None:
    """Revoke an access or refresh token (RFC 7009: unknown tokens are not an error)."""
    response = transport.request(
        "POST", endpoint(base_url, "revoke"), data={"token": token}, auth=(api_key, api_secret)
    )
    if not response.is_success:
        raise _token_error(response, "revoke", "revoking the token")
