"""The tenant's OAuth endpoints as plain functions: request in, typed answer out, no prompts.

Shared by ``Agave`` and the standalone :class:`agavepy.token.Token`: they
take a :class:`Transport`, where the endpoints are (:class:`Endpoints` from
the tenant's discovery document, or a base URL for the Agave defaults) and the
client's key and secret, and return typed values (:class:`TokenPair`,
:class:`TokenInfo`, :class:`DeviceAuthorization`). A client without a secret
is a public client (the tenant's built-in ``agave-cli``): it sends
``client_id`` in the form instead of HTTP Basic (RFC 6749 §2.3, token endpoint
auth method ``none``). Besides the password and refresh grants: introspection
(RFC 7662), the device authorization grant (RFC 8628) and the authorization
code grant with PKCE for a loopback redirect (RFC 7636, RFC 8252). RFC 6749
errors are mapped to the SDK's exceptions here; the password never appears in
one.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from agavepy._discovery import Endpoints, as_endpoints
from agavepy._transport import Transport, error_from_response, json_body
from agavepy.errors import (
    AgaveError,
    AuthenticationError,
    BadRequestError,
    InvalidClientError,
    LoginDeniedError,
    LoginExpiredError,
    NotFoundError,
    PermissionDeniedError,
    TokenExpiredError,
)
from agavepy.models import DeviceAuthorization, TokenInfo, TokenPair

SCOPE = "PRODUCTION"  # what agavepy and agave-cli send
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
#: RFC 8628 section 3.5: after ``slow_down`` the interval grows by 5 seconds for good.
SLOW_DOWN_STEP = 5


def _client_auth(api_key: str, api_secret: str, data: dict[str, str]) -> tuple[str, str] | None:
    """HTTP Basic for a confidential client; ``client_id`` in the form for a public one."""
    if api_secret:
        return (api_key, api_secret)
    data["client_id"] = api_key
    return None


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
    auth = _client_auth(api_key, api_secret, data)
    response = transport.request("POST", url, data=data, auth=auth)
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
    if code == "invalid_grant" and grant_type in ("password", "admin_password"):
        return AuthenticationError(
            f"{action} failed: wrong username or password",
            status=status,
            response=response,
            server_message=said,
        )
    if code in ("invalid_grant", "unauthorized_client", "access_denied"):
        return AuthenticationError(
            f"{action} failed", status=status, response=response, server_message=said
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
    data = {"token": token}
    auth = _client_auth(api_key, api_secret, data)
    response = transport.request("POST", url, data=data, auth=auth)
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
    data = {"token": token}
    response = transport.request(
        "POST", url, data=data, auth=_client_auth(api_key, api_secret, data)
    )
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


# -- RFC 8628: the device authorization grant ---------------------------------------------


def device_authorization(
    transport: Transport,
    where: Endpoints | str,
    api_key: str,
    api_secret: str = "",
    scope: str = SCOPE,
) -> DeviceAuthorization:
    """Start a device login: the code a person types at the verification URI."""
    data = {"scope": scope}
    auth = _client_auth(api_key, api_secret, data)
    url = as_endpoints(where).device_authorization
    response = transport.request("POST", url, data=data, auth=auth)
    if response.status_code == 404:
        raise AgaveError(
            "starting the login failed: this tenant has no device login",
            status=404,
            response=response,
            hint="the server may be too old; use a password instead",
        )
    if not response.is_success:
        raise _token_error(response, DEVICE_GRANT, "starting the login")
    body = json_body(response)
    if not isinstance(body, dict) or not body.get("device_code") or not body.get("user_code"):
        raise AgaveError("starting the login failed: the server sent no device code")
    return DeviceAuthorization.from_json(body)


class AuthorizationPending(Exception):
    """Nobody has approved the code yet (poll again after ``interval``)."""


class SlowDown(AuthorizationPending):
    """Polled too fast: wait 5 seconds longer from now on."""


def device_token(
    transport: Transport,
    where: Endpoints | str,
    api_key: str,
    api_secret: str,
    device_code: str,
) -> TokenPair:
    """One poll: the pair once approved; AuthorizationPending/SlowDown while waiting."""
    data = {"grant_type": DEVICE_GRANT, "device_code": device_code}
    auth = _client_auth(api_key, api_secret, data)
    url = as_endpoints(where).token
    response = transport.request("POST", url, data=data, auth=auth)
    if response.is_success:
        body = json_body(response)
        if not isinstance(body, dict) or not body.get("access_token"):
            raise AgaveError("logging in failed: the token endpoint sent no access token")
        return TokenPair.from_json(body, created_at=int(time.time()))
    body = json_body(response)
    code = body.get("error") if isinstance(body, dict) else None
    if code == "authorization_pending":
        raise AuthorizationPending()
    if code == "slow_down":
        raise SlowDown()
    if code == "access_denied":
        raise LoginDeniedError("logging in failed: the login was denied in the browser")
    if code == "expired_token":
        raise LoginExpiredError("logging in failed: the code expired before it was approved")
    raise _token_error(response, DEVICE_GRANT, "logging in")


def wait_for_device_token(
    transport: Transport,
    where: Endpoints | str,
    api_key: str,
    api_secret: str,
    authorization: DeviceAuthorization,
    *,
    sleep: Callable[[float], Any] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> TokenPair:
    """Poll every ``interval`` seconds (5 s more after each slow_down) until approved.

    Raises LoginDeniedError, LoginExpiredError (also when the code's lifetime has passed
    on this side), or whatever Ctrl-C raises during a sleep (KeyboardInterrupt).
    """
    interval = authorization.interval
    while True:
        sleep(interval)
        if clock() >= authorization.expires_at + interval:
            raise LoginExpiredError("logging in failed: the code expired before it was approved")
        try:
            return device_token(transport, where, api_key, api_secret, authorization.device_code)
        except SlowDown:
            interval += SLOW_DOWN_STEP
        except AuthorizationPending:
            pass


# -- RFC 6749 §4.1 + RFC 7636 + RFC 8252: authorization code for a loopback redirect -----


def pkce_pair() -> tuple[str, str]:
    """(code_verifier, S256 code_challenge)."""
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode("ascii")


def authorization_url(
    where: Endpoints | str,
    client_id: str,
    redirect_uri: str,
    code_challenge: str,
    state: str,
    scope: str = SCOPE,
) -> str:
    """The page to open in a browser: the tenant's authorization endpoint with PKCE."""
    query = {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "code_challenge": code_challenge,
        "code_challenge_method": "S256",
        "state": state,
        "scope": scope,
    }
    return as_endpoints(where).authorization + "?" + urlencode(query)


def code_grant(
    transport: Transport,
    where: Endpoints | str,
    api_key: str,
    api_secret: str,
    code: str,
    redirect_uri: str,
    code_verifier: str,
) -> TokenPair:
    """Trade the authorization code (and the PKCE verifier) for a pair."""
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": redirect_uri,
        "code_verifier": code_verifier,
    }
    return _token_request(transport, where, api_key, api_secret, data, "logging in")
