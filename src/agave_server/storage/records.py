"""Plain records the storage layer returns: rows turned into typed, immutable values."""

from __future__ import annotations

from dataclasses import dataclass


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


@dataclass(frozen=True)
class User:
    id: int
    tenant_id: int
    username: str
    password_hash: str
    is_admin: bool
    email: str
    first_name: str
    last_name: str
    created_at: int


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


@dataclass(frozen=True)
class Client:
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


@dataclass(frozen=True)
class Token:
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


@dataclass(frozen=True)
class BearerGrant:
    """What the protected resource needs to know about a valid access token."""

    user: User
    client_id: int
    subscribed: bool  # the token's client is subscribed to the API asked about
    scope: str = "default"
    expires_at: int = 0
