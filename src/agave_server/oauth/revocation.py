"""RFC 7009 token revocation: revoking either token of a pair revokes both (as WSO2 did)."""

from __future__ import annotations

from typing import ClassVar

from authlib.oauth2.rfc6749.errors import InvalidGrantError
from authlib.oauth2.rfc7009 import RevocationEndpoint

from ..security import digest
from ..storage import tokens as token_store
from .models import PUBLIC_OR_SECRET, OAuthToken


class Revocation(RevocationEndpoint):
    # The public CLI client too: `agave logout` revokes its login's tokens.
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(PUBLIC_OR_SECRET)

    def authenticate_token(self, request, client) -> OAuthToken | None:
        """Like Authlib's, but the lookup needs the request (its tenant), not just the string."""
        self.check_params(request, client)
        token_string = request.form["token"]
        if not token_string.isascii() or not token_string.isalnum():
            return None  # cannot be one of ours; RFC 7009 answers 200 anyway
        found = token_store.find_by_digest(
            request.db, request.tenant.id, digest(token_string), request.form.get("token_type_hint")
        )
        token = OAuthToken(found) if found else None
        if token and not token.check_client(client):
            raise InvalidGrantError("The token was issued to another client.")
        return token

    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuthToken | None:
        raise NotImplementedError("lookups go through authenticate_token (they need the tenant)")

    def revoke_token(self, token: OAuthToken, request) -> None:
        token_store.revoke_pair(request.db, token.id)
