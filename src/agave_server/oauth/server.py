"""The Authlib AuthorizationServer for Agave tenants.

The HTTP layer hands it an ``HttpInput`` (``requests.py``) and gets back an ``Answer``
(``answers.py``: JSON, a redirect or a page); this module never sees HTTP objects. Grants come
from ``registry.GRANTS``; clients are looked up in the tenant of the request being handled
(``query_client``), authenticated with HTTP Basic or ``client_secret_post``.
"""

from __future__ import annotations

import contextvars
import os
from typing import Any

from authlib.oauth2.rfc6749 import AuthorizationServer
from authlib.oauth2.rfc6749.errors import (
    InvalidClientError,
    InvalidRequestError,
    OAuth2Error,
    UnauthorizedClientError,
    UnsupportedGrantTypeError,
)
from sqlalchemy.exc import IntegrityError

from ..basic_auth import MalformedCredentials, parse_basic
from ..config import Settings
from ..errors import TooManyRequests
from ..security import digest, new_family_id, new_secret
from ..services.throttle import LoginThrottle, client_key
from ..storage import Database, builtin_clients
from ..storage import clients as client_store
from ..storage import introspection as introspection_store
from ..storage import tokens as token_store
from ..storage.lookups import BatchedStatement, LookupBatcher
from ..storage.records import Tenant
from . import jwt_tokens, registry
from .answers import Answer, JsonAnswer, from_triple
from .bearer import BearerValidator
from .device import DEVICE_AUTHORIZATION_PATH, DeviceAuthorization
from .errors import TooManyAttemptsError, description_text
from .grants import refused_refresh
from .introspection import Introspection
from .keys import KeyRing
from .metadata import Metadata
from .models import CLIENT_AUTH_METHODS, OAuthClient
from .requests import AgaveOAuth2Request, HttpInput
from .revocation import Revocation

# TLS is terminated by the proxy in front of agave-server (docs/server.md), or the server runs
# on loopback; Authlib's https-only check on the request URI cannot see either, so it is off.
os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")

SCOPE = "default"

# The request being handled in this context (a task per HTTP request; worker threads run in
# a copy of the caller's context): ``query_client`` looks clients up in its tenant.
_current: contextvars.ContextVar[AgaveOAuth2Request | None] = contextvars.ContextVar(
    "agave_oauth_request", default=None
)


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


def _basic_credentials(request: AgaveOAuth2Request) -> tuple[str, str] | None:
    """``parse_basic`` of the request's Authorization header, parsed once per request (the
    public-client check and the secret check both ask); raises ``MalformedCredentials``."""
    parsed = request.__dict__.get("_basic_credentials", _UNPARSED)
    if parsed is _UNPARSED:
        try:
            parsed = parse_basic(request.headers.get("Authorization"))
        except MalformedCredentials as err:
            parsed = err
        request.__dict__["_basic_credentials"] = parsed
    if isinstance(parsed, MalformedCredentials):
        raise MalformedCredentials(str(parsed))
    return parsed


_UNPARSED = object()


def _usable_basic(request: AgaveOAuth2Request) -> tuple[str, str] | None:
    """A confidential client's HTTP Basic key and secret; None for no Basic, a malformed one
    (its own path says what is wrong) or the public client's ``agave-cli:``."""
    try:
        basic = _basic_credentials(request)
    except MalformedCredentials:
        return None
    if basic is None or basic == (builtin_clients.CLI_CLIENT_ID, ""):
        return None
    return basic


class AgaveAuthorizationServer(AuthorizationServer):
    def __init__(
        self, db: Database, settings: Settings, throttle: LoginThrottle, keys: KeyRing
    ) -> None:
        super().__init__(scopes_supported=None)
        self.db = db
        self.settings = settings
        self.throttle = throttle
        self.keys = keys
        # PostgreSQL: the event loop's look-ups, many requests' in one query (storage/lookups.py)
        self.lookups = None if db.is_sqlite else LookupBatcher(db)
        self.bearer = BearerValidator(db, keys, self.lookups)
        self.register_token_generator("default", self._generate_token)
        self.register_client_auth_method("client_secret_basic", self._client_secret_basic)
        self.register_client_auth_method("client_secret_post", self._client_secret_post)
        self.register_client_auth_method("none", self._public_client)
        for entry in registry.GRANTS:
            self.register_grant(entry.grant, [make() for make in entry.extensions] or None)
        self.register_endpoint(Revocation)
        self.register_endpoint(DeviceAuthorization)
        self.register_endpoint(Introspection)
        self.metadata = Metadata()
        self._register_core_metadata()
        self._register_device_metadata()

    def _register_core_metadata(self) -> None:
        """The endpoints and fields of this module's endpoints (others add theirs the same way)."""
        for name, path in (
            ("token_endpoint", "/token"),
            ("revocation_endpoint", "/revoke"),
            ("introspection_endpoint", "/oauth2/introspect"),
            ("jwks_uri", "/oauth2/jwks"),
        ):
            self.metadata.add_endpoint(name, path)
        self.metadata.add("token_endpoint_auth_methods_supported", list(CLIENT_AUTH_METHODS))
        self.metadata.add(
            "revocation_endpoint_auth_methods_supported", Revocation.CLIENT_AUTH_METHODS
        )
        self.metadata.add(
            "introspection_endpoint_auth_methods_supported", Introspection.CLIENT_AUTH_METHODS
        )
        self.metadata.add("scopes_supported", [SCOPE])

    def _register_device_metadata(self) -> None:
        """RFC 8628 section 4: the device authorization endpoint; and "none", with which the
        tenant's public CLI client authenticates (sending only ``client_id``)."""
        self.metadata.add_endpoint("device_authorization_endpoint", DEVICE_AUTHORIZATION_PATH)
        self.metadata.add("token_endpoint_auth_methods_supported", ["none"])
        self.metadata.add("revocation_endpoint_auth_methods_supported", ["none"])

    # -- requests ----------------------------------------------------------------------
    def request(self, source: HttpInput, keep_scope: bool = False) -> AgaveOAuth2Request:
        """The OAuth request for one HTTP request (``keep_scope``: see AgaveOAuth2Request)."""
        return AgaveOAuth2Request(source, db=self.db, throttle=self.throttle, keep_scope=keep_scope)

    def lookup_client(self, tenant: Tenant, client_id: str) -> OAuthClient | None:
        """The tenant's client with this consumer key (client_id), with its owner; the
        built-in public client by its public id (``agave-cli``, stored under another key)."""
        if client_id == builtin_clients.CLI_CLIENT_ID:
            found = builtin_clients.get_cli_client(self.db, tenant.id)
        else:
            found = client_store.get_client_with_owner(self.db, tenant.id, client_id)
        return OAuthClient(*found) if found is not None else None

    # -- Authlib's integration points ---------------------------------------------------
    def query_client(self, client_id: str) -> OAuthClient | None:
        """The client in the tenant of the request being handled (Authlib's grants ask)."""
        request = _current.get()
        if request is None:
            raise RuntimeError("query_client outside a request: use lookup_client(tenant, id)")
        if not isinstance(client_id, str) or not client_id:
            return None
        return self.lookup_client(request.tenant, client_id)

    def create_oauth2_request(self, request: AgaveOAuth2Request) -> AgaveOAuth2Request:
        """Every Authlib entry point passes through here: bind the request to this context."""
        if not isinstance(request, AgaveOAuth2Request):
            raise TypeError("build requests with AgaveAuthorizationServer.request(HttpInput)")
        _current.set(request)
        return request

    def create_authorization_response(self, request=None, grant_user=None, grant=None):
        # Authlib skips create_oauth2_request for a ready OAuth2Request; bind it anyway.
        return super().create_authorization_response(
            self.create_oauth2_request(request), grant_user, grant
        )

    def handle_response(self, status: int, body: Any, headers: Any) -> Answer:
        return from_triple(status, body, headers)

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
        scope = scope or SCOPE  # the code flow's (openid ...) or the legacy "default"
        token: dict[str, Any] = {
            "access_token": self._access_token(grant_type, client, user, scope),
            "token_type": "bearer",
            "expires_in": self.settings.access_token_lifetime,
            "scope": scope,
        }
        if include_refresh_token:
            token["refresh_token"] = new_secret()
        return token

    def _access_token(self, grant_type: str, client: OAuthClient, user, scope: str) -> str:
        """Opaque base62, or an RFC 9068 JWT when the request's tenant chose ``jwt``."""
        request = _current.get()
        if request is None or request.tenant.access_token_format != jwt_tokens.JWT:
            return new_secret()
        issuer = jwt_tokens.TenantAccessTokens(
            self.keys, request.tenant, self.settings.access_token_lifetime
        )
        # client_credentials: an Agave client acts as its owner (the stored row, /profiles/v2/me
        # and introspection all say so), so ``sub`` is the owner, not the client.
        return issuer.issue(client, grant_type, user or request.user, scope)

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
            scope=token.get("scope") or SCOPE,
            access_digest=digest(token["access_token"]),
            refresh_digest=digest(token["refresh_token"]) if "refresh_token" in token else None,
            access_lifetime=self.settings.access_token_lifetime,
            refresh_lifetime=self.settings.refresh_token_lifetime,
            # A code exchange chose its family when it claimed the code (authorization_code.py).
            family_id=parent.family_id
            if parent is not None
            else getattr(request, "family_id", None) or new_family_id(),
            parent_id=parent.id if parent is not None else None,
            parent_digest=request.refresh_digest if parent is not None else None,
        )
        if request.defer_write:
            request.pending_pair = pair
            request.pending_write = token_store.store_pair(pair)
            return
        try:
            stored: bool | None = token_store.save_pair(self.db, pair)
        except IntegrityError:
            stored = None
        error = _write_refused(request, stored)
        if error is not None:
            raise error

    def finish_deferred(self, request: AgaveOAuth2Request, answer: Answer, stored: bool | None):
        """The answer once the deferred write ran (``stored`` as ``_write_refused`` reads it)."""
        error = _write_refused(request, stored)
        return answer if error is None else self.handle_error_response(request, error)

    # -- client authentication (RFC 6749 section 2.3.1) ------------------------------------
    def authenticate_client(self, request, methods, endpoint="token"):
        """One method per request: HTTP Basic, or client_id and client_secret in the body."""
        basic = _usable_basic(request)
        if (
            basic is not None
            and methods
            and methods[0] == "client_secret_basic"
            and "client_secret" not in request.form
        ):
            # The usual request (a confidential client's HTTP Basic; token grants,
            # introspection and revocation): what the checks below and Authlib's
            # ClientAuthentication walk come to for it, in one step. Everything else
            # (no or malformed Basic, the public client, a secret in the body too) takes them.
            client = self._verify_client(request, *basic)
            if client.check_endpoint_auth_method(methods[0], endpoint):
                request.auth_method = methods[0]
                return client
        if self._public_client(None, request) is not None:
            if "none" not in methods:
                raise UnauthorizedClientError(
                    description=f"The client {builtin_clients.CLI_CLIENT_ID} has no secret: it "
                    "may only use the device, authorization_code and refresh_token grants."
                )
            return super().authenticate_client(request, methods, endpoint)
        has_basic = bool((request.headers.get("Authorization") or "").strip())
        if has_basic and "client_secret" in request.form:
            raise InvalidRequestError(
                "The client authenticated twice (HTTP Basic and client_secret in the body): "
                "use one of them."
            )
        if not has_basic and "client_secret" not in request.form:
            raise InvalidClientError(
                status_code=401,
                description="Missing client credentials: send HTTP Basic key:secret "
                "(or client_id and client_secret in the body).",
            )
        return super().authenticate_client(request, methods, endpoint)

    def _public_client(self, _query_client, request: AgaveOAuth2Request) -> OAuthClient | None:
        """The tenant's built-in public client (``client_id=agave-cli``, no secret), or None.

        Also accepted as HTTP Basic ``agave-cli:`` with an empty password, which is how
        agavepy 0.9.5 and the Bash agave-cli send a saved session's key and (empty) secret.
        None for every other request, so confidential clients go on to their methods.
        """
        try:
            basic = _basic_credentials(request)
        except MalformedCredentials:
            return None
        if basic is not None:
            if basic != (builtin_clients.CLI_CLIENT_ID, ""):
                return None
        elif request.form.get("client_id") != builtin_clients.CLI_CLIENT_ID:
            return None
        if "client_secret" in request.form:
            return None
        found = builtin_clients.get_cli_client(self.db, request.tenant.id)
        return OAuthClient(*found) if found is not None else None

    def _client_secret_basic(self, _query_client, request: AgaveOAuth2Request):
        try:
            credentials = _basic_credentials(request)
        except MalformedCredentials as err:
            raise InvalidClientError(
                status_code=401, description=description_text(str(err))
            ) from None
        if credentials is None:
            return None
        return self._verify_client(request, *credentials)

    def _client_secret_post(self, _query_client, request: AgaveOAuth2Request):
        secret = request.form.get("client_secret")
        if secret is None:
            return None
        key = request.form.get("client_id")
        if not key:
            raise InvalidClientError(
                status_code=401, description="client_secret is given without client_id."
            )
        return self._verify_client(request, key, secret)

    def _verify_client(self, request: AgaveOAuth2Request, key: str, secret: str) -> OAuthClient:
        """The client with this key and secret in the request's tenant; throttled per key and
        address, so guessing secrets is as slow as guessing passwords."""
        account = client_key(request.tenant.id, key)
        try:
            client = self._throttled_client(request, account, key)
        except TooManyRequests as err:
            raise TooManyAttemptsError(err.message, err.retry_after) from None
        if client is None or not client.check_client_secret(secret):
            self.throttle.failed(account, request.address)
            raise InvalidClientError(
                status_code=401, description="Invalid consumer key or consumer secret."
            )
        if client.owner.disabled:
            raise InvalidClientError(
                status_code=401,
                description=f"The owner of this client, {client.owner.username}, is disabled.",
            )
        return client

    def _throttled_client(
        self, request: AgaveOAuth2Request, account: str, key: str
    ) -> OAuthClient | None:
        """The client with this key, once the throttle lets its authentication go on
        (``TooManyRequests`` otherwise). With the counters in the database, the client, its
        owner and the counters come from one read (``clients.get_client_for_auth``)."""
        throttle, what = self.throttle, "client authentication"
        if not throttle.in_database or key == builtin_clients.CLI_CLIENT_ID:
            throttle.check(account, request.address, what)
            return self.query_client(key)
        keys = throttle.keys(account, request.address)
        found = self._client_for_auth(request, key, keys)
        if found is None:  # an unknown key: the counters still decide between 429 and 401
            throttle.check(account, request.address, what)
            return None
        client, owner, counters = found
        throttle.check_rows(account, request.address, counters, what)
        return OAuthClient(client, owner)

    def _client_for_auth(
        self, request: AgaveOAuth2Request, key: str, keys: tuple[str, str | None]
    ) -> client_store.ClientForAuth | None:
        """``clients.get_client_for_auth``; with the pair of the token being introspected in
        the same statement when the endpoint asked for it (``access_digest_wanted``)."""
        wanted = request.access_digest_wanted
        if wanted is None:
            return client_store.get_client_for_auth(self.db, request.tenant.id, key, keys)
        both = introspection_store.client_and_access_pair(
            self.db, request.tenant.id, key, keys, wanted
        )
        if both is None:
            return None
        request.prefetched = (both.pair,)
        return both.client

    def reads_ahead(self, request: AgaveOAuth2Request) -> list[tuple[BatchedStatement, dict]]:
        """The look-ups a token grant of this request is about to make, for the event loop to
        read ahead in its batched queries (PostgreSQL; ``storage.lookups``): the client by
        the key in HTTP Basic (with its owner, and the failure counters when those are rows
        of the database) and, for a refresh, the pair of the refresh token. Read with the
        same keys the grant's own look-ups use; one the grant does not make costs a probe,
        and one it makes that is not here is read when the grant asks for it."""
        client = self._client_read(request)
        if client is None:
            return []
        reads = [client]
        refresh = request.form.get("refresh_token")
        if request.form.get("grant_type") == "refresh_token" and isinstance(refresh, str):
            pair = {"digest": digest(refresh), "tenant_id": request.tenant.id}
            reads.append((token_store.BY_REFRESH_AHEAD, pair))
        return reads

    def introspection_reads_ahead(
        self, request: AgaveOAuth2Request
    ) -> list[tuple[BatchedStatement, dict]]:
        """``reads_ahead`` for introspection: the client, with the pair of an opaque access
        token in the same statement (``storage.introspection``), and a JWT's pair."""
        client = self._client_read(request)
        if client is None:
            return []
        value = request.form.get("token")
        if not isinstance(value, str) or request.form.get("token_type_hint") == token_store.REFRESH:
            return [client]
        opaque = self.bearer.opaque_digest(value)
        if opaque is not None:
            _statement, key = client
            return [(introspection_store.CLIENT_AND_PAIR_AHEAD, {**key, "digest": opaque})]
        pair = {"digest": digest(value), "tenant_id": request.tenant.id}
        return [client, (token_store.PAIR_BY_ACCESS_AHEAD, pair)]

    def _client_read(self, request: AgaveOAuth2Request) -> tuple[BatchedStatement, dict] | None:
        """The client look-up that authenticating HTTP Basic's key makes (None without one)."""
        basic = _usable_basic(request)
        if basic is None:
            return None
        key, tenant_id = basic[0], request.tenant.id
        if not self.throttle.in_database:
            return (client_store.WITH_OWNER_AHEAD, {"key": key, "tenant_id": tenant_id})
        first, second = self.throttle.keys(client_key(tenant_id, key), request.address)
        wanted = {"key": key, "tenant_id": tenant_id, "first": first, "second": second}
        return (client_store.FOR_AUTH_AHEAD, wanted)

    # -- entry points for the API layer ---------------------------------------------------
    def token_response(self, request: AgaveOAuth2Request) -> Answer:
        """Run the token endpoint (the grant stores the pair only once it is valid)."""
        self.create_oauth2_request(request)
        grant_type = request.form.get("grant_type")
        if not grant_type:
            return self.handle_error_response(
                request, InvalidRequestError("Missing 'grant_type' in request.")
            )
        if grant_type not in registry.GRANT_TYPES:
            error = UnsupportedGrantTypeError(grant_type[:40])
            error.description = (
                f"grant_type {grant_type[:40]!r} is not supported: use one of "
                + ", ".join(sorted(registry.GRANT_TYPES))
            )
            return self.handle_error_response(request, error)
        return self.create_token_response(request)

    def endpoint_response(self, name: str, request: AgaveOAuth2Request) -> Answer:
        """Run a registered endpoint (revocation, introspection, ...) by its name."""
        answer = self.create_endpoint_response(name, request)
        return answer if answer is not None else JsonAnswer(200, {})

    def revocation_response(self, request: AgaveOAuth2Request) -> Answer:
        return self.endpoint_response(Revocation.ENDPOINT_NAME, request)

    def device_authorization_response(self, request: AgaveOAuth2Request) -> Answer:
        """RFC 8628 sections 3.1-3.2: a device code and a user code for the client."""
        return self.endpoint_response(DeviceAuthorization.ENDPOINT_NAME, request)

    def introspection_response(self, request: AgaveOAuth2Request) -> Answer:
        return self.endpoint_response(Introspection.ENDPOINT_NAME, request)

    def discovery(self, tenant: Tenant, openid: bool) -> dict[str, Any]:
        """The tenant's OpenID Connect (``openid``) or RFC 8414 discovery document."""
        if not openid:
            return self.metadata.authorization_server(tenant)
        algs = sorted({k.alg for k in self.keys.published(tenant)})
        return self.metadata.openid_configuration(tenant, algs)
