"""Where a tenant's OAuth endpoints are: its discovery document, or the Agave defaults.

A tenant that publishes ``{issuer}/.well-known/openid-configuration`` (OpenID Connect
Discovery 1.0; the issuer is the base URL without its trailing slash) says where its token,
revocation, introspection and JWKS endpoints are; an Agave tenant that does not (a 2014 WSO2
gateway answers 404) has them at fixed paths under the base URL. :func:`discover` asks once
and returns :class:`Endpoints` either way; it never prompts and never fails because the
document is missing or unusable (the request that needs the endpoint then reports the real
problem).

A document is used only if it names the issuer we asked (Discovery section 4.3: otherwise
anyone who can answer at that URL could redirect our tokens), and only endpoints that are
http(s) URLs, https when the issuer is https. No HTTP is done at import time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from agavepy._transport import json_body
from agavepy.errors import NetworkError

if TYPE_CHECKING:
    from agavepy._transport import Transport

WELL_KNOWN = "/.well-known/openid-configuration"

# Endpoint -> (metadata key, Agave default path under the base URL).
_FIELDS = {
    "token": ("token_endpoint", "token"),
    "revocation": ("revocation_endpoint", "revoke"),
    "introspection": ("introspection_endpoint", "oauth2/introspect"),
    "jwks_uri": ("jwks_uri", "oauth2/jwks"),
    "userinfo": ("userinfo_endpoint", "oauth2/userinfo"),
}


def issuer_of(base_url: str) -> str:
    """A tenant's issuer: its base URL without the trailing slash (agave-cli keeps one)."""
    return str(base_url).rstrip("/")


@dataclass(frozen=True)
class Endpoints:
    """The OAuth endpoints of one tenant; ``discovered`` says whether its document said so."""

    issuer: str
    token: str
    revocation: str
    introspection: str
    jwks_uri: str
    userinfo: str
    discovered: bool = False
    metadata: dict[str, Any] | None = None

    @classmethod
    def defaults(cls, base_url: str) -> Endpoints:
        """The Agave paths under the base URL (what agavepy and agave-cli always used)."""
        issuer = issuer_of(base_url)
        return cls(issuer, **{name: f"{issuer}/{path}" for name, (_, path) in _FIELDS.items()})

    @classmethod
    def from_metadata(cls, base_url: str, doc: dict[str, Any]) -> Endpoints:
        """Endpoints from a discovery document already checked to be this issuer's."""
        fallback = cls.defaults(base_url)
        https = fallback.issuer.lower().startswith("https://")
        found = {}
        for name, (key, _) in _FIELDS.items():
            value = doc.get(key)
            found[name] = value if _usable(value, https) else getattr(fallback, name)
        return cls(fallback.issuer, **found, discovered=True, metadata=dict(doc))


def _usable(value: Any, https: bool) -> bool:
    """An absolute http(s) URL with a host; https only when the issuer is https."""
    if not isinstance(value, str) or any(c.isspace() for c in value):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    allowed = ("https",) if https else ("http", "https")
    return parts.scheme.lower() in allowed and bool(parts.hostname)


def as_endpoints(where: Endpoints | str) -> Endpoints:
    """``Endpoints`` as given, or the Agave defaults for a base URL."""
    return where if isinstance(where, Endpoints) else Endpoints.defaults(where)


def discover(transport: Transport, base_url: str) -> tuple[Endpoints, bool]:
    """The tenant's endpoints, and whether the answer may be kept for the session.

    A definite answer (a usable document, or a 4xx/unusable one: the tenant has none) may be
    kept; a network failure or a 5xx may not, so the next call asks again.
    """
    issuer = issuer_of(base_url)
    url = issuer + WELL_KNOWN
    try:
        response = transport.request("GET", url)
    except NetworkError:
        return Endpoints.defaults(base_url), False
    if response.status_code >= 500:
        return Endpoints.defaults(base_url), False
    doc = json_body(response) if response.status_code == 200 else None
    if not isinstance(doc, dict):
        return Endpoints.defaults(base_url), True
    if doc.get("issuer") != issuer:
        import logging  # only here: importing it costs more than this whole module

        logging.getLogger("agavepy").warning(
            "ignoring %s: it names issuer %r, not %r; using the Agave default endpoints",
            url,
            doc.get("issuer"),
            issuer,
        )
        return Endpoints.defaults(base_url), True
    return Endpoints.from_metadata(base_url, doc), True
