"""Discovery documents: valid for Authlib's metadata classes, built from what is registered,
every URL from the tenant's stored base URL (never from Host)."""

from __future__ import annotations

import os

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc.discovery import OpenIDProviderMetadata

from agave_server.oauth import registry
from tests.oauth.conftest import Tenant

DOCUMENTS = {
    "oauth-authorization-server": AuthorizationServerMetadata,
    "openid-configuration": OpenIDProviderMetadata,
}


def validate(metadata) -> None:
    """Authlib's validation; until a code grant is registered (the web branch), there is no
    response type to list, which is the only check allowed to fail."""
    os.environ.setdefault("AUTHLIB_INSECURE_TRANSPORT", "1")  # the tests' issuer is http
    for key in metadata.REGISTRY_KEYS:
        if key == "response_types_supported" and not registry.response_types():
            assert metadata[key] == []
            continue
        getattr(metadata, f"validate_{key}")()


@pytest.mark.parametrize("name", DOCUMENTS)
def test_documents_validate_and_list_what_is_registered(a: Tenant, name: str) -> None:
    r = a.http.get(f"/.well-known/{name}")
    assert r.status_code == 200
    doc = r.json()
    validate(DOCUMENTS[name](doc))
    assert doc["issuer"] == a.issuer
    assert doc["token_endpoint"] == a.issuer + "/token"
    assert doc["revocation_endpoint"] == a.issuer + "/revoke"
    assert doc["introspection_endpoint"] == a.issuer + "/oauth2/introspect"
    assert doc["jwks_uri"] == a.issuer + "/oauth2/jwks"
    assert doc["grant_types_supported"] == list(registry.grant_types())
    assert doc["response_types_supported"] == list(registry.response_types())
    secret_methods = ["client_secret_basic", "client_secret_post"]
    # "none": the tenant's public `agave login` client sends only client_id (RFC 8628).
    for endpoint in ("token_endpoint", "revocation_endpoint"):
        assert doc[f"{endpoint}_auth_methods_supported"] == [*secret_methods, "none"]
    assert doc["introspection_endpoint_auth_methods_supported"] == secret_methods
    if "authorization_code" in doc["grant_types_supported"]:
        assert doc["code_challenge_methods_supported"] == ["S256"]
    if name == "openid-configuration":
        assert doc["subject_types_supported"] == ["public"]
        assert doc["id_token_signing_alg_values_supported"] == ["RS256"]


def test_every_listed_endpoint_answers(a: Tenant) -> None:
    doc = a.http.get("/.well-known/openid-configuration").json()
    assert a.http.get(doc["jwks_uri"].removeprefix(a.issuer)).status_code == 200
    for name in ("token_endpoint", "revocation_endpoint", "introspection_endpoint"):
        r = a.http.post(doc[name].removeprefix(a.issuer), data={})
        assert r.status_code in (400, 401), (name, r.status_code)  # there, asking for a client


def test_each_tenant_gets_its_own_issuer(a: Tenant, b: Tenant) -> None:
    doc_b = b.http.get("/.well-known/openid-configuration").json()
    assert doc_b["issuer"] == b.issuer != a.issuer
    assert doc_b["token_endpoint"] == b.issuer + "/token"


def test_urls_come_from_the_stored_base_url_not_the_host_header(a: Tenant) -> None:
    # An unknown Host falls back to the default tenant; its URLs stay the stored ones.
    r = a.http.get("/.well-known/oauth-authorization-server", headers={"Host": "evil.example"})
    doc = r.json()
    assert doc["issuer"] == a.issuer
    assert all("evil.example" not in str(v) for v in doc.values())


def test_the_tenant_record_publishes_the_issuer(a: Tenant, b: Tenant) -> None:
    listed = {t["code"]: t for t in a.http.get("/tenants").json()["result"]}
    assert listed["sd2e"]["issuer"] == a.issuer
    assert listed["other"]["issuer"] == b.issuer
    assert listed["other"]["baseUrl"] == b.base_url
