"""The ONE validator of bearer tokens: opaque or JWT, live or not, for every protected route.

Shaped like Authlib's RFC 6750 ``BearerTokenValidator`` and RFC 9068
``JWTBearerTokenValidator``: ``authenticate_token`` turns the presented string into a token
this tenant could have issued (or None), ``validate_token`` decides whether it is good now.
``/profiles/v2/me``, ``/revoke`` and introspection ask it (and later the gateway and userinfo);
nobody else parses a bearer token.

- Opaque tokens are 43 base62 characters; anything else that is not a JWT is refused before
  any look-up.
- A JWT must be one of the tenant's RFC 9068 access tokens: its signature by a published key
  of this tenant (algorithm pinned to the key), ``typ: at+jwt``, ``iss`` the tenant's issuer,
  ``aud`` the tenant's API audience, unexpired. An ID token (other ``typ`` and audience) is
  never accepted. A verified JWT is remembered per process (the token itself, its expiry
  and its digest), so a token's signature is checked once, not on every call, and its
  digest (SHA-256 of some 700 bytes) is not computed again either.
- Then, for both kinds, one indexed row look-up by digest decides: revoked, rotated, expired,
  deleted client or removed user all end a token at once, JWTs included.
"""

from __future__ import annotations

import itertools
import threading
from typing import NamedTuple

from ..security import digest
from ..storage import Database, now
from ..storage import gateway as gateway_store
from ..storage import tokens as token_store
from ..storage.gateway import TokenAccess
from ..storage.lookups import LookupBatcher
from ..storage.records import BearerGrant, Tenant
from .jwt_tokens import ACCESS_TOKEN_TYP, access_token_audience
from .keys import InvalidJWT, KeyRing

MAX_OPAQUE = 256
_VERIFIED_MAX = 8192  # JWTs remembered per process (the oldest half is forgotten when full):
# at about 700 bytes each, some 6 MB when full


class PresentedToken(NamedTuple):
    """A token string that could be one of ours: its digest, and its claims if a JWT (a
    named tuple: one is built per request on every hot path)."""

    value: str
    digest: str
    is_jwt: bool
    claims: dict | None = None


def bearer_from_header(header: str | None) -> str | None:
    """The token of ``Authorization: Bearer <token>`` (RFC 6750 section 2.1), else None."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() != "bearer" or not value:
        return None
    return value


def _looks_opaque(value: str) -> bool:
    return len(value) <= MAX_OPAQUE and value.isascii() and value.isalnum()


def _looks_like_jwt(value: str) -> bool:
    return value.count(".") == 2 and value.isascii() and value.startswith("ey")


class BearerValidator:
    """Decides whether a bearer token is good for a tenant (see the module docstring)."""

    TOKEN_TYPE = "bearer"

    def __init__(self, db: Database, keys: KeyRing, lookups: LookupBatcher | None = None) -> None:
        self.db = db
        self.keys = keys
        # PostgreSQL: the event loop's look-ups, many requests' in one query (the async
        # methods below); None on SQLite, which reads in place.
        self.lookups = lookups
        # (tenant id, the JWT as presented) -> (its exp, its digest)
        self._verified: dict[tuple[int, str], tuple[int, str]] = {}
        self._lock = threading.Lock()

    # -- step 1: is this string one of the tenant's tokens? -------------------------------
    def authenticate_token(self, tenant: Tenant, value: str) -> PresentedToken | None:
        if _looks_opaque(value):
            return PresentedToken(value, digest(value), is_jwt=False)
        if not _looks_like_jwt(value):
            return None
        seen = self._verified.get((tenant.id, value))
        if seen is not None and seen[0] > now():
            return PresentedToken(value, seen[1], is_jwt=True)
        try:
            claims = self.keys.verify(
                tenant, value, typ=ACCESS_TOKEN_TYP, audience=access_token_audience(tenant)
            )
        except InvalidJWT:
            return None
        token_digest = digest(value)
        self._remember((tenant.id, value), int(claims["exp"]), token_digest)
        return PresentedToken(value, token_digest, is_jwt=True, claims=claims)

    def _remember(self, key: tuple[int, str], exp: int, token_digest: str) -> None:
        with self._lock:
            if len(self._verified) >= _VERIFIED_MAX:
                for old in list(itertools.islice(self._verified, _VERIFIED_MAX // 2)):
                    self._verified.pop(old, None)
            self._verified[key] = (exp, token_digest)

    # -- step 2: is it good now? -------------------------------------------------------
    def validate_token(
        self, tenant: Tenant, token: PresentedToken | None, api: str = "Profiles"
    ) -> BearerGrant | None:
        """The live access token's user, client, scope and whether the client is subscribed
        to ``api``; None when it is unknown, expired, revoked or rotated."""
        if token is None:
            return None
        return token_store.bearer_grant(self.db, tenant.id, token.digest, api)

    def gateway_access(
        self, tenant: Tenant, token: PresentedToken | None, api_id: int
    ) -> TokenAccess | None:
        """``validate_token`` for the gateway: the same live-token check in the same read as
        the client, its owner and its subscription to the API being called."""
        if token is None:
            return None
        return gateway_store.token_access(self.db, tenant.id, token.digest, api_id)

    def access(self, tenant: Tenant, value: str | None, api: str = "Profiles"):
        """Both steps for an access token presented to a protected resource."""
        if not value:
            return None
        return self.validate_token(tenant, self.authenticate_token(tenant, value), api)

    # -- the same, for coroutines on the event loop -------------------------------------
    async def access_on_loop(
        self, tenant: Tenant, value: str | None, api: str = "Profiles"
    ) -> BearerGrant | None:
        """``access`` from the event loop: on PostgreSQL the look-up joins the loop's next
        batched query (``storage.lookups``) instead of a round trip of its own."""
        if self.lookups is None or not value:
            return self.access(tenant, value, api)
        token = self.authenticate_token(tenant, value)
        if token is None:
            return None
        return await token_store.bearer_grant_batched(self.lookups, tenant.id, token.digest, api)

    async def gateway_access_on_loop(
        self, tenant: Tenant, token: PresentedToken | None, api_id: int
    ) -> TokenAccess | None:
        """``gateway_access`` from the event loop (batched on PostgreSQL, as above)."""
        if self.lookups is None or token is None:
            return self.gateway_access(tenant, token, api_id)
        return await gateway_store.token_access_batched(
            self.lookups, tenant.id, token.digest, api_id
        )

    # -- for revocation and introspection (either token of a pair) ---------------------
    def find(
        self,
        tenant: Tenant,
        value: str,
        hint: str | None = None,
        kinds: tuple[str, ...] | None = None,
    ) -> token_store.FoundPair | None:
        """The stored pair a presented access or refresh token belongs to, live or not, with
        which of the two it is (``tokens.ACCESS`` or ``tokens.REFRESH``), its client's key and
        its user's name. ``kinds``: only these of the pair's two columns (the caller looked
        in the other already)."""
        presented = self.authenticate_token(tenant, value)
        if presented is None:
            return None
        if presented.is_jwt:
            hint, kinds = token_store.ACCESS, None  # refresh tokens are always opaque
        return token_store.find_pair(self.db, tenant.id, presented.digest, hint, kinds)

    def opaque_digest(self, value: str) -> str | None:
        """The digest of an opaque token (None for anything else, JWTs included): what can be
        looked up before the caller is authenticated, since it costs no signature check."""
        return digest(value) if _looks_opaque(value) else None
