"""Typed records for what the Agave wire carries: tenants, clients, tokens, profiles.

Each record is a frozen dataclass with ``from_json`` (the wire's camelCase
dict, tolerant of missing keys and of numbers sent as strings) and
``to_json`` (back to the wire's keys). No HTTP and no printing here.
Secrets and tokens are left out of ``repr`` so a REPL or a log line never
shows them by accident.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _int(value: Any, default: int = 0) -> int:
    """Numbers arrive as ints or strings (agave-cli writes strings)."""
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


@dataclass(frozen=True)
class Tenant:
    """One Agave deployment: a short ``code`` (e.g. ``sd2e``) and its base URL."""

    code: str
    name: str
    base_url: str
    id: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Tenant:
        return cls(
            code=_text(data.get("code")),
            name=_text(data.get("name")),
            base_url=_text(data.get("baseUrl")),
            id=_text(data.get("id")),
        )

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "code": self.code, "name": self.name, "baseUrl": self.base_url}


@dataclass(frozen=True)
class Client:
    """An OAuth client; ``consumer_secret`` is only known right after creation."""

    name: str
    description: str
    consumer_key: str
    tier: str
    callback_url: str
    consumer_secret: str | None = field(default=None, repr=False)
    #: Where RP-initiated logout may send the browser; None from servers that do not say.
    post_logout_redirect_uri: str | None = None

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Client:
        secret = data.get("consumerSecret")
        logout = data.get("postLogoutRedirectUri")
        return cls(
            name=_text(data.get("name")),
            description=_text(data.get("description")),
            consumer_key=_text(data.get("consumerKey")),
            tier=_text(data.get("tier")),
            callback_url=_text(data.get("callbackUrl")),
            consumer_secret=None if secret is None else str(secret),
            post_logout_redirect_uri=None if logout is None else str(logout),
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "description": self.description,
            "consumerKey": self.consumer_key,
            "tier": self.tier,
            "callbackUrl": self.callback_url,
        }
        if self.consumer_secret is not None:
            out["consumerSecret"] = self.consumer_secret
        if self.post_logout_redirect_uri is not None:
            out["postLogoutRedirectUri"] = self.post_logout_redirect_uri
        return out


@dataclass(frozen=True)
class Subscription:
    """A client's subscription to one API of the tenant's catalogue."""

    api_name: str
    api_version: str
    api_provider: str
    api_context: str = ""
    api_status: str = ""
    tier: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Subscription:
        return cls(
            api_name=_text(data.get("apiName")),
            api_version=_text(data.get("apiVersion")),
            api_provider=_text(data.get("apiProvider")),
            api_context=_text(data.get("apiContext")),
            api_status=_text(data.get("apiStatus")),
            tier=_text(data.get("tier")),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "apiName": self.api_name,
            "apiVersion": self.api_version,
            "apiProvider": self.api_provider,
            "apiContext": self.api_context,
            "apiStatus": self.api_status,
            "tier": self.tier,
        }


@dataclass(frozen=True)
class TokenPair:
    """An access token, the refresh token issued with it, and when they were issued.

    ``created_at`` is Unix seconds on this machine when the token arrived:
    the token endpoint does not say when it issued a token, so, like agavepy
    and agave-cli, we count ``expires_in`` from the moment we received it.
    """

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_in: int
    created_at: int
    scope: str = ""
    token_type: str = "bearer"

    @classmethod
    def from_json(cls, data: dict[str, Any], *, created_at: int | None = None) -> TokenPair:
        """From the token endpoint's answer (or a saved session's token keys)."""
        if created_at is None:
            created_at = _int(data.get("created_at"), int(time.time()))
        return cls(
            access_token=_text(data.get("access_token")),
            refresh_token=_text(data.get("refresh_token")),
            expires_in=_int(data.get("expires_in")),
            created_at=created_at,
            scope=_text(data.get("scope")),
            token_type=_text(data.get("token_type")) or "bearer",
        )

    def __repr__(self) -> str:
        return (
            f"TokenPair(token_type={self.token_type!r}, scope={self.scope!r}, "
            f"expires_in={self.expires_in}, expires_at='{self.expires_at:%Y-%m-%d %H:%M:%S} UTC')"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "access_token": self.access_token,
            "refresh_token": self.refresh_token,
            "expires_in": self.expires_in,
            "created_at": self.created_at,
            "scope": self.scope,
            "token_type": self.token_type,
        }

    @property
    def expires_at(self) -> datetime:
        """When the access token expires (timezone-aware, UTC)."""
        return datetime.fromtimestamp(self.created_at + self.expires_in, tz=timezone.utc)

    def seconds_left(self, now: float | None = None) -> float:
        """Seconds until expiry (negative once expired)."""
        now = time.time() if now is None else now
        return self.created_at + self.expires_in - now

    def is_expired(self, leeway: float = 0) -> bool:
        """True when the access token expires within ``leeway`` seconds (or already has)."""
        return self.seconds_left() <= leeway


@dataclass(frozen=True)
class Profile:
    """The user a token belongs to (``GET /profiles/v2/me``); other fields in ``extra``."""

    username: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    _KNOWN = ("username", "email", "first_name", "last_name")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        extra = {k: v for k, v in data.items() if k not in cls._KNOWN and k != "_links"}
        return cls(
            username=_text(data.get("username")),
            email=_text(data.get("email")),
            first_name=_text(data.get("first_name")),
            last_name=_text(data.get("last_name")),
            extra=extra,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "username": self.username,
            "email": self.email,
            "first_name": self.first_name,
            "last_name": self.last_name,
            **self.extra,
        }


@dataclass(frozen=True)
class TokenInfo:
    """What a tenant's introspection endpoint (RFC 7662) says about a token.

    ``active`` is the answer; the other fields are only there for an active token (a
    server says nothing else about an inactive one). Times are Unix seconds.
    """

    active: bool
    scope: str = ""
    client_id: str = ""
    username: str = ""
    sub: str = ""
    token_type: str = ""
    exp: int | None = None
    iat: int | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    _KNOWN = ("active", "scope", "client_id", "username", "sub", "token_type", "exp", "iat")

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TokenInfo:
        def _time(key: str) -> int | None:
            value = data.get(key)
            return None if value in (None, "") else _int(value)

        return cls(
            active=data.get("active") is True,
            scope=_text(data.get("scope")),
            client_id=_text(data.get("client_id")),
            username=_text(data.get("username")),
            sub=_text(data.get("sub")),
            token_type=_text(data.get("token_type")),
            exp=_time("exp"),
            iat=_time("iat"),
            extra={k: v for k, v in data.items() if k not in cls._KNOWN},
        )

    def to_json(self) -> dict[str, Any]:
        if not self.active:
            return {"active": False, **self.extra}
        out: dict[str, Any] = {**self.extra, "active": True}
        for key in self._KNOWN[1:]:
            value = getattr(self, key)
            if value not in (None, ""):
                out[key] = value
        return out

    @property
    def expires_at(self) -> datetime | None:
        """When the token expires (timezone-aware, UTC), if the server said."""
        return None if self.exp is None else datetime.fromtimestamp(self.exp, tz=timezone.utc)
