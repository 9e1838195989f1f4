"""Plain records the storage layer returns: rows turned into typed, immutable values.

The records every hot path builds per request (a user, a client, a token pair, a bearer
grant) are named tuples: built from a row in about a third of a frozen dataclass's time
(bench/NOTES.md item 34). The others are frozen dataclasses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True)
class Tenant:
    id: int
    uuid: str
    code: str
    name: str
    base_url: str
    host: str
    contact_name: str
    contact_email: str
    contact_url: str
    created_at: int
    access_token_format: str = "opaque"  # 'opaque' | 'jwt'

    @property
    def issuer(self) -> str:
        """The OAuth/OIDC issuer: the base URL without its trailing slash."""
        return self.base_url.rstrip("/")


class User(NamedTuple):
    id: int
    tenant_id: int
    username: str
    password_hash: str
    is_admin: bool
    email: str
    first_name: str
    last_name: str
    created_at: int
    disabled_at: int | None = None

    @property
    def disabled(self) -> bool:
        return self.disabled_at is not None


@dataclass(frozen=True)
class Api:
    id: int
    tenant_id: int
    name: str
    version: str
    provider: str
    context: str
    status: str
    is_default: bool
    backend_url: str = ""  # '' = not behind the gateway


class Client(NamedTuple):
    id: int
    tenant_id: int
    user_id: int
    name: str
    description: str
    consumer_key: str
    secret_digest: str
    tier: str
    callback_url: str
    created_at: int
    is_resource_server: bool = False
    post_logout_redirect_uri: str = ""


@dataclass(frozen=True)
class Subscription:
    api: Api
    tier: str


class Token(NamedTuple):
    """One access/refresh pair as stored (digests only)."""

    id: int
    tenant_id: int
    client_id: int
    user_id: int
    grant_type: str
    scope: str
    family_id: str
    rotated_at: int | None
    revoked_at: int | None
    access_expires_at: int
    refresh_expires_at: int | None
    issued_at: int = 0


class BearerGrant(NamedTuple):
    """What the protected resource needs to know about a valid access token."""

    user: User
    client_id: int
    subscribed: bool  # the token's client is subscribed to the API asked about
    scope: str = "default"
    expires_at: int = 0


@dataclass(frozen=True)
class IdentitySettings:
    """How a tenant's users sign in (``tenant_identity``; defaults when the row is absent)."""

    tenant_id: int
    local_login: bool = True
    ldap: dict | None = None  # the LDAP settings (identity.ldap.LdapSettings.from_dict)


@dataclass(frozen=True)
class Upstream:
    """An upstream OpenID Connect provider of a tenant."""

    id: int
    tenant_id: int
    name: str
    issuer: str
    client_id: str
    client_secret: str
    username_claim: str
    scope: str
    email_domains: tuple[str, ...]
    created_at: int


@dataclass(frozen=True)
class UpstreamLogin:
    """An upstream sign-in in progress (``upstream_logins``)."""

    state_digest: str
    tenant_id: int
    upstream_id: int
    browser_digest: str
    next_path: str
    expires_at: int


@dataclass(frozen=True)
class TierLimit:
    """A tier's rate: at most ``limit`` requests per ``period`` seconds (None = unlimited)."""

    name: str
    limit: int | None
    period: int
    is_default: bool = True  # WSO2's default, not set by the operator


@dataclass(frozen=True)
class SessionFamily:
    """A live session of a client: one refresh-token family (a sign-in and its refreshes)."""

    family_id: str
    created_at: int
    last_used_at: int
    scope: str
    grant_type: str
    user_id: int
