"""JWT access tokens (RFC 9068), a per-tenant choice (``tenants update --access-token-format``).

Claims come from Authlib's ``JWTBearerTokenGenerator`` (iss, sub, aud, client_id, exp, iat,
jti, scope; header ``typ: at+jwt``), signed with the tenant's current key (``keys.py``). The
server still stores a row per token, keyed by the digest of the whole JWT, exactly as for
opaque tokens: revocation, refresh rotation, family revocation, client deletion and user
removal reach JWTs at once for everything this server answers. A resource server that only
checks signatures sees a revoked JWT as valid until its ``exp`` (docs/server.md).
"""

from __future__ import annotations

from typing import Any

from authlib.oauth2.rfc9068 import JWTBearerTokenGenerator
from joserfc.jwk import KeySet

from ..storage.records import Tenant, User
from .keys import KeyRing

ACCESS_TOKEN_TYP = "at+jwt"
JWT = "jwt"
OPAQUE = "opaque"


def access_token_audience(tenant: Tenant) -> str:
    """The ``aud`` of a tenant's JWT access tokens: its APIs, which live under its base URL.

    Distinct from an ID token's audience (the client_id), so neither passes for the other.
    """
    return tenant.base_url


class _Subject:
    """A user as Authlib's generator asks for it: ``sub`` is the username (stable per user)."""

    def __init__(self, user: User) -> None:
        self.user = user

    def get_user_id(self) -> str:
        return self.user.username


class TenantAccessTokens(JWTBearerTokenGenerator):
    """Authlib's RFC 9068 generator for one tenant: its issuer, audience and current key."""

    def __init__(self, keys: KeyRing, tenant: Tenant, lifetime: int) -> None:
        self._keys = keys
        self._tenant = tenant
        self._signing_keys = keys.signing_keyset(tenant)
        alg = next(iter(self._signing_keys)).alg
        super().__init__(issuer=tenant.issuer, alg=alg, expires_generator=lambda *_: lifetime)

    def get_jwks(self) -> KeySet:
        return self._signing_keys

    def get_audiences(self, client: Any, user: Any, scope: str) -> str:
        return access_token_audience(self._tenant)

    def issue(self, client: Any, grant_type: str, user: User | None, scope: str) -> str:
        subject = _Subject(user) if user is not None else None
        return self.access_token_generator(client, grant_type, subject, scope)
