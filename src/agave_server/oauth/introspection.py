"""RFC 7662 token introspection with Authlib's ``IntrospectionEndpoint``.

Who may introspect what (docs/server.md): a client may introspect the tokens it was issued;
a client the operator marked as a resource server (``agave-server clients set NAME --tenant T
--resource-server``), or a client owned by a tenant administrator, may introspect any token
of its tenant. Never another tenant's: tokens are looked up in the request's tenant only, so
a token of another tenant, like a revoked, expired or junk one, is ``{"active": false}``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from authlib.oauth2.rfc7662 import IntrospectionEndpoint

from ..storage import tokens as token_store
from ..storage.records import Tenant
from .models import CLIENT_AUTH_METHODS, OAuthClient, OAuthToken
from .revocation import check_token_params


def may_introspect_any(client: OAuthClient) -> bool:
    """The introspection rule: resource servers and tenant administrators' clients."""
    return bool(client.record.is_resource_server) or bool(client.owner.is_admin)


class IntrospectedToken(OAuthToken):
    """A pair as found for introspection: with its client's key and its user's name, read in
    the same query as the pair (``tokens.find_pair``)."""

    def __init__(self, found: token_store.FoundPair, tenant: Tenant) -> None:
        super().__init__(found.token, found.kind, tenant)
        self.consumer_key = found.consumer_key
        self.username = found.username


class Introspection(IntrospectionEndpoint):
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(CLIENT_AUTH_METHODS)

    def create_endpoint_response(self, request):
        """Authlib's flow, with the pair of an opaque access token read in the client's own
        statement (``storage.introspection``): one read instead of two for the usual request.
        The pair is used only once the client is authenticated."""
        value = request.form.get("token")
        if value and request.form.get("token_type_hint") != token_store.REFRESH:
            request.access_digest_wanted = self.server.bearer.opaque_digest(value)
        return super().create_endpoint_response(request)

    def authenticate_token(self, request, client: OAuthClient) -> OAuthToken | None:
        """Like Authlib's, but the lookup needs the request's tenant, not just the string."""
        check_token_params(request)
        found = self._find(request)
        if found is None:
            return None
        token = IntrospectedToken(found, request.tenant)
        return token if self.check_permission(token, client, request) else None

    def _find(self, request) -> token_store.FoundPair | None:
        """The pair of the token asked about: the one read with the client, else a look-up
        (in the refresh column only, when the access column was read with the client)."""
        value, hint = request.form["token"], request.form.get("token_type_hint")
        if request.prefetched is None:
            return self.server.bearer.find(request.tenant, value, hint)
        (found,) = request.prefetched
        if found is not None:
            return found
        return self.server.bearer.find(request.tenant, value, hint, (token_store.REFRESH,))

    def check_permission(self, token: OAuthToken, client: OAuthClient, request) -> bool:
        return token.check_client(client) or may_introspect_any(client)

    def query_token(self, token_string: str, token_type_hint: str | None):
        raise NotImplementedError("lookups go through authenticate_token (they need the tenant)")

    def introspect_token(self, token: IntrospectedToken) -> dict[str, Any]:
        record = token.record
        consumer_key, username = token.consumer_key, token.username
        refresh = token.kind == token_store.REFRESH
        expires = record.refresh_expires_at if refresh else record.access_expires_at
        return {
            "active": True,
            "scope": record.scope,
            "client_id": consumer_key,
            "username": username,
            "sub": username,
            "exp": expires,
            "iat": record.issued_at,
            "iss": token.tenant.issuer if token.tenant else None,
            "token_type": "refresh_token" if refresh else "bearer",
        }
