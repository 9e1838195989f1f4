"""The Authlib AuthorizationServer for Agave tenants, and the request object it works on.

The API layer builds one ``AgaveOAuth2Request`` per HTTP request (parsed form, headers, tenant,
source address) and gets back ``(status, body, headers)``; this module never sees HTTP objects.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer, OAuth2Request
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidRequestError,
    OAuth2Error,
    UnsupportedGrantTypeError,
)
from authlib.oauth2.rfc6749.requests import BasicOAuth2Payload
from sqlalchemy.exc import IntegrityError

from ..basic_auth import MalformedCredentials, parse_basic
from ..config import Settings
from ..errors import TooManyRequests
from ..security import digest, digest_matches, new_family_id, new_secret
from ..services.throttle import LoginThrottle, client_key
from ..storage import Database
from ..storage import clients as client_store
from ..storage import tokens as token_store
from ..storage.records import Tenant
from .errors import TooManyAttemptsError, description_text
from .grants import (
    AdminPasswordGrant,
    ClientCredentialsGrant,
    PasswordGrant,
    RefreshGrant,
    refused_refresh,
)
from .models import GRANT_TYPES, OAuthClient
from .revocation import Revocation

# TLS is terminated by the proxy in front of agave-server (docs/server.md), or the server runs
# on loopback; Authlib's https-only check on the request URI cannot see either, so it is off.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

SCOPE = "default"
Triple = tuple[int, dict[str, Any], list[tuple[str, str]]]


class AgaveOAuth2Request(OAuth2Request):
    """An OAuth request with what Agave's grants need: tenant, database, throttle, address."""

    def __init__(
        self,
        *,
        method: str,
        uri: str,
        headers: Mapping[str, str],
        form: dict[str, str],
        tenant: Tenant,
        db: Database,
        throttle: LoginThrottle,
        address: str | None,
    ) -> None:
        super().__init__(method, uri, headers=headers)
        self._form = form
        # Agave tools send scope=PRODUCTION; scopes are not enforced and every token has the
        # scope "default", so the requested scope is not handed to Authlib's scope checks.
        self.payload = BasicOAuth2Payload({k: v for k, v in form.items() if k != "scope"})
        self.tenant = tenant
        self.db = db
        self.throttle = throttle
        self.address = address
        self.refresh_digest: str | None = None  # set by the refresh grant's validation
        # Set by the caller to batch the pair's write (``storage.batch``); ``save_token`` then
        # leaves it here instead of running it.
        self.defer_write = False
        self.pending_write: Callable[[Database, Any], bool] | None = None

    @property
    def form(self) -> dict[str, str]:
        return self._form

    @property
    def args(self) -> dict[str, str]:
        return {}


def _write_refused(request: AgaveOAuth2Request, stored: bool | None) -> OAuth2Error | None:
    """What a pair's write means for the answer: None when it was stored; a refusal when the
    refresh token was exchanged by another request first (False) or the client was deleted
    meanwhile (None: the insert broke its foreign key)."""
    if stored:
        return None
    if stored is None:
        return InvalidClientError(
            status_code=401,
            description="This client was deleted while the token was being issued.",
        )
    return refused_refresh(request, request.refresh_digest or "")


class AgaveAuthorizationServer(AuthorizationServer):
    def __init__(self, db: Database, settings: Settings, throttle: LoginThrottle) -> None:
        super().__init__(scopes_supported=None)
        self.db = db
        self.settings = settings
        self.throttle = throttle
        self.register_token_generator("default", self._generate_token)
        self.register_client_auth_method("client_secret_basic", self._authenticate_client)
        for grant in (PasswordGrant, RefreshGrant, ClientCredentialsGrant, AdminPasswordGrant):
            self.register_grant(grant)
        self.register_endpoint(Revocation)

    # -- Authlib's integration points ---------------------------------------------------
    def query_client(self, client_id: str) -> OAuthClient | None:
        """Unused: clients are looked up per tenant in ``_authenticate_client``."""
        return None

    def create_oauth2_request(self, request: AgaveOAuth2Request) -> AgaveOAuth2Request:
        return request

    def handle_response(self, status: int, body: Any, headers: list) -> Triple:
        return status, body, list(headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        """No signal receivers: nothing to do."""

    def _generate_token(
        self,
        grant_type: str,
        client: OAuthClient,
        user=None,
        scope=None,
        expires_in=None,
        include_refresh_token: bool = True,
    ) -> dict[str, Any]:
        token: dict[str, Any] = {
            "access_token": new_secret(),
            "token_type": "bearer",
            "expires_in": self.settings.access_token_lifetime,
            "scope": SCOPE,
        }
        if include_refresh_token:
            token["refresh_token"] = new_secret()
        return token

    def save_token(self, token: dict[str, Any], request: AgaveOAuth2Request) -> None:
        """Store the pair's digests; a refresh also retires its parent, or loses the race.

        With ``request.defer_write`` the write is left on the request for the caller to run
        in a batch (``storage.batch``) and finish with ``finish_deferred``.
        """
        parent = request.refresh_token
        pair = token_store.NewPair(
            tenant_id=request.tenant.id,
            client_id=request.client.id,
            user_id=request.user.id,
            grant_type=request.payload.grant_type,
            scope=SCOPE,
            access_digest=digest(token["access_token"]),
            refresh_digest=digest(token["refresh_token"]) if "refresh_token" in token else None,
            access_lifetime=self.settings.access_token_lifetime,
            refresh_lifetime=self.settings.refresh_token_lifetime,
            family_id=parent.family_id if parent is not None else new_family_id(),
            parent_id=parent.id if parent is not None else None,
            parent_digest=request.refresh_digest if parent is not None else None,
        )
        write = token_store.store_pair(pair)
        if request.defer_write:
            request.pending_write = write
            return
        try:
            stored: bool | None = token_store.run_write(self.db, write)
        except IntegrityError:
            stored = None
        error = _write_refused(request, stored)
        if error is not None:
            raise error

    def finish_deferred(self, request: AgaveOAuth2Request, answer: Triple, stored: bool | None):
        """The answer once the deferred write ran (``stored`` as ``_write_refused`` reads it)."""
        error = _write_refused(request, stored)
        return answer if error is None else self.handle_error_response(request, error)

    # -- client authentication ---------------------------------------------------------
    def _authenticate_client(self, _query_client, request: AgaveOAuth2Request) -> OAuthClient:
        """HTTP Basic with consumerKey:consumerSecret, per tenant, throttled per key and address."""
        try:
            credentials = parse_basic(request.headers.get("Authorization"))
        except MalformedCredentials as err:
            raise InvalidClientError(
                status_code=401, description=description_text(str(err))
            ) from None
        if credentials is None:
            raise InvalidClientError(
                status_code=401,
                description="Missing client credentials: send HTTP Basic key:secret.",
            )
        key, secret = credentials
        account = client_key(request.tenant.id, key)
        try:
            self.throttle.check(account, request.address, "client authentication")
        except TooManyRequests as err:
            raise TooManyAttemptsError(err.message, err.retry_after) from None
        found = client_store.get_client_with_owner(self.db, request.tenant.id, key)
        if found is None or not digest_matches(secret, found[0].secret_digest):
            self.throttle.failed(account, request.address)
            raise InvalidClientError(
                status_code=401, description="Invalid consumer key or consumer secret."
            )
        if found[1].disabled:
            raise InvalidClientError(
                status_code=401,
                description=f"The owner of this client, {found[1].username}, is disabled.",
            )
        return OAuthClient(*found)

    # -- entry points for the API layer ---------------------------------------------------
    def token_response(self, request: AgaveOAuth2Request) -> Triple:
        """Run the token endpoint (the grant stores the pair only once it is valid)."""
        grant_type = request.form.get("grant_type")
        if not grant_type:
            return self.handle_error_response(
                request, InvalidRequestError("Missing 'grant_type' in request.")
            )
        if grant_type not in GRANT_TYPES:
            error = UnsupportedGrantTypeError(grant_type[:40])
            error.description = (
                f"grant_type {grant_type[:40]!r} is not supported: use one of "
                + ", ".join(sorted(GRANT_TYPES))
            )
            return self.handle_error_response(request, error)
        return self.create_token_response(request)

    def revocation_response(self, request: AgaveOAuth2Request) -> Triple:
        return self.create_endpoint_response(Revocation.ENDPOINT_NAME, request)
