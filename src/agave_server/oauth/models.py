"""Adapters giving storage records the interfaces Authlib's grants call."""

from __future__ import annotations

from authlib.oauth2.rfc6749 import ClientMixin, TokenMixin

from ..security import digest_matches
from ..storage import now
from ..storage.records import Client, Tenant, Token, User
from . import redirect_uris
from .oidc import allowed_scope

# The client authentication methods every Agave client may use (RFC 6749 section 2.3.1).
CLIENT_AUTH_METHODS = ("client_secret_basic", "client_secret_post")


class OAuthClient(ClientMixin):
    """A registered Agave client: confidential, authenticated with its secret (Basic or post)."""

    def __init__(self, record: Client, owner: User) -> None:
        self.record = record
        self.id = record.id
        self.user_id = record.user_id
        self.owner = owner

    def get_client_id(self) -> str:
        return self.record.consumer_key

    def get_default_redirect_uri(self) -> str:
        return self.record.callback_url

    def get_allowed_scope(self, scope: str) -> str:
        """The requested scopes this server knows (OIDC's, for the code flow), else the
        legacy grants' "default"."""
        return allowed_scope(scope)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        """The callbackUrl exactly, or on another port for a loopback IP (redirect_uris.py)."""
        return redirect_uris.matches(self.record.callback_url, redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        return digest_matches(client_secret, self.record.secret_digest)

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return method in CLIENT_AUTH_METHODS

    def check_response_type(self, response_type: str) -> bool:
        """Every client may use the registered response types (the code flow's ``code``)."""
        from .registry import response_types  # registry imports the grants, which import us

        return response_type in response_types()

    def check_grant_type(self, grant_type: str) -> bool:
        """Every client may use every grant the server registered (``registry.GRANTS``):
        Authlib asks only once it has found a registered grant for the request."""
        return True


class OAuthToken(TokenMixin):
    """A stored pair, as far as the refresh, revocation and introspection endpoints need it;
    ``kind`` says which of its two tokens was presented ('access_token' or 'refresh_token')."""

    def __init__(
        self, record: Token, kind: str = "access_token", tenant: Tenant | None = None
    ) -> None:
        self.record = record
        self.kind = kind
        self.tenant = tenant
        self.id = record.id
        self.family_id = record.family_id
        self.user_id = record.user_id

    def check_client(self, client: OAuthClient) -> bool:
        return self.record.client_id == client.id

    def get_scope(self) -> str:
        return self.record.scope

    def get_expires_in(self) -> int:
        return max(0, self.record.access_expires_at - now())

    def is_expired(self) -> bool:
        if self.kind == "refresh_token":
            expires = self.record.refresh_expires_at
            return expires is None or expires <= now()
        return self.record.access_expires_at <= now()

    def is_revoked(self) -> bool:
        return self.record.revoked_at is not None or self.record.rotated_at is not None
