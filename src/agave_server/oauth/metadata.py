"""Discovery documents: RFC 8414 and OpenID Connect Discovery 1.0, built from what is registered.

Every value is derived: grant and response types from ``registry.GRANTS``, client
authentication methods from the endpoints' classes, signing algorithms from the tenant's keys,
and every URL absolute under the tenant's STORED base URL (never the request's Host). Other
parts of the server add their endpoints and fields with one call each on the server's
``metadata`` (``AgaveAuthorizationServer.metadata``)::

    server.metadata.add_endpoint("authorization_endpoint", "/oauth2/authorize")
    server.metadata.add("claims_supported", ["sub", "email"])   # lists are merged

Authlib's ``AuthorizationServerMetadata`` and ``OpenIDProviderMetadata`` validate the result
(tests/oauth/test_discovery.py).
"""

from __future__ import annotations

from typing import Any

from ..storage.records import Tenant
from . import registry


class Metadata:
    """The server's contributions to its discovery documents (endpoints and fields)."""

    def __init__(self) -> None:
        self._endpoints: dict[str, str] = {}
        self._fields: dict[str, Any] = {}
        self._oidc_fields: dict[str, Any] = {}

    def add_endpoint(self, name: str, path: str) -> None:
        """An endpoint by its metadata name, at ``path`` under the tenant's issuer."""
        if not path.startswith("/"):
            raise ValueError(f"endpoint path {path!r} must start with '/'")
        self._endpoints[name] = path

    def add(self, name: str, value: Any, *, openid_only: bool = False) -> None:
        """A metadata field; a list merges into what others added under the same name."""
        target = self._oidc_fields if openid_only else self._fields
        if isinstance(value, list | tuple):
            merged = list(target.get(name, []))
            merged += [v for v in value if v not in merged]
            target[name] = merged
        else:
            target[name] = value

    def endpoints(self) -> dict[str, str]:
        return dict(self._endpoints)

    def authorization_server(self, tenant: Tenant) -> dict[str, Any]:
        """RFC 8414 metadata for the tenant."""
        issuer = tenant.issuer
        grant_types = list(registry.grant_types())
        doc: dict[str, Any] = {"issuer": issuer}
        for name, path in self._endpoints.items():
            doc[name] = issuer + path
        doc["response_types_supported"] = list(registry.response_types())
        doc["grant_types_supported"] = grant_types
        if "authorization_code" in grant_types:
            doc["code_challenge_methods_supported"] = ["S256"]
        for name, value in self._fields.items():
            doc[name] = list(value) if isinstance(value, list) else value
        return doc

    def openid_configuration(self, tenant: Tenant, signing_algs: list[str]) -> dict[str, Any]:
        """OpenID Connect Discovery 1.0 metadata: RFC 8414's plus the OpenID fields."""
        doc = self.authorization_server(tenant)
        doc.setdefault("subject_types_supported", ["public"])
        doc.setdefault("id_token_signing_alg_values_supported", signing_algs)
        for name, value in self._oidc_fields.items():
            doc[name] = list(value) if isinstance(value, list) else value
        return doc
