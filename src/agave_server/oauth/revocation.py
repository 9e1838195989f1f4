"""RFC 7009 token revocation, for every kind of token this server issues.

Revoking an access token (opaque or JWT) revokes its pair, as WSO2 did; revoking a refresh
token ends its whole family (every pair descended from the same login). The token is found
by the bearer validator (``bearer.py``), the one place that knows what our tokens look like.
"""

from __future__ import annotations

from typing import ClassVar

from authlib.oauth2.rfc6749.errors import (
    InvalidGrantError,
    InvalidRequestError,
    UnsupportedTokenTypeError,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint

from ..storage import tokens as token_store
from .models import PUBLIC_OR_SECRET, OAuthToken

TOKEN_TYPE_HINTS = (token_store.ACCESS, token_store.REFRESH)


def check_token_params(request) -> None:
    """``token`` is required; ``token_type_hint``, if given, is one we know (RFC 7009 2.1)."""
    if not request.form.get("token"):
        raise InvalidRequestError("Missing 'token' in the request body.")
    hint = request.form.get("token_type_hint")
    if hint and hint not in TOKEN_TYPE_HINTS:
        error = UnsupportedTokenTypeError()
        error.status_code = 400
        error.description = (
            f"token_type_hint {hint[:40]!r} is not supported: use {' or '.join(TOKEN_TYPE_HINTS)}."
        )
        raise error


class Revocation(RevocationEndpoint):
    # The public CLI client too: `agave logout` revokes its login's tokens.
    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(PUBLIC_OR_SECRET)

    def authenticate_token(self, request, client) -> OAuthToken | None:
        """Like Authlib's, but the lookup needs the request (its tenant), not just the string."""
        check_token_params(request)
        found = self.server.bearer.find(
            request.tenant, request.form["token"], request.form.get("token_type_hint")
        )
        if found is None:
            return None  # cannot be one of ours; RFC 7009 answers 200 anyway
        token = OAuthToken(found.token, found.kind)
        if not token.check_client(client):
            raise InvalidGrantError("The token was issued to another client.")
        return token

    def query_token(self, token_string: str, token_type_hint: str | None) -> OAuthToken | None:
        raise NotImplementedError("lookups go through authenticate_token (they need the tenant)")

    def revoke_token(self, token: OAuthToken, request) -> None:
        if token.kind == token_store.REFRESH:
            token_store.revoke_family(request.db, token.family_id)
        else:
            token_store.revoke_pair(request.db, token.id)
