"""Both access-token formats with every grant, and revocation reaching JWTs at once.

With ``--access-token-format jwt`` every grant issues RFC 9068 JWTs, verified here with
joserfc against the tenant's published JWKS only (as a resource server would); with the
default ``opaque`` the Agave wire's base62 tokens stay. Either way the server refuses a
revoked, rotated or orphaned token at once.
"""

from __future__ import annotations

import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.oauth.conftest import Client, Tenant, jwt_parts

GRANTS = ("password", "refresh_token", "client_credentials")


def issue(tenant: Tenant, client: Client, grant: str) -> dict:
    """A token pair (or a lone access token) from ``grant``."""
    if grant == "refresh_token":
        first = tenant.token(client)
        r = tenant.refresh(client, first["refresh_token"])
        assert r.status_code == 200, r.text
        return r.json()
    return tenant.token(client, grant)


def verify_with_jwks(tenant: Tenant, token: str) -> dict:
    """What a resource server does: signature by a JWKS key, RFC 9068 claims."""
    keys = KeySet.import_key_set(tenant.jwks())
    header, _ = jwt_parts(token)
    assert header["typ"] == "at+jwt"
    alg = next(k for k in tenant.jwks()["keys"] if k["kid"] == header["kid"])["alg"]
    decoded = jwt.decode(token, keys, algorithms=[alg])
    registry = jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": tenant.issuer},
        aud={"essential": True, "value": tenant.base_url},
        sub={"essential": True},
        client_id={"essential": True},
        exp={"essential": True},
        iat={"essential": True},
        jti={"essential": True},
        scope={"essential": True},
    )
    registry.validate(decoded.claims)
    return decoded.claims


@pytest.mark.parametrize("grant", GRANTS)
def test_jwt_format_issues_rfc9068_tokens_for_every_grant(a: Tenant, grant: str) -> None:
    a.set_format("jwt")
    user = a.shared_user()
    client = a.client(user)
    pair = issue(a, client, grant)
    assert pair["token_type"] == "bearer" and isinstance(pair["expires_in"], int)
    claims = verify_with_jwks(a, pair["access_token"])
    assert claims["sub"] == user.username
    assert claims["client_id"] == client.key
    assert claims["scope"] == pair["scope"] == "default"
    assert abs(claims["exp"] - claims["iat"] - pair["expires_in"]) <= 2
    if grant != "client_credentials":
        assert pair["refresh_token"].isalnum()  # refresh tokens stay opaque
    r = a.me(pair["access_token"])
    assert r.status_code == 200, r.text
    assert r.json()["result"]["username"] == user.username


@pytest.mark.parametrize("grant", GRANTS)
def test_opaque_format_keeps_the_agave_wire(a: Tenant, grant: str) -> None:
    a.set_format("opaque")
    client = a.client(a.shared_user())
    pair = issue(a, client, grant)
    token = pair["access_token"]
    assert token.isascii() and token.isalnum() and len(token) == 43
    assert a.me(token).status_code == 200


def test_each_token_has_its_own_jti(a: Tenant) -> None:
    a.set_format("jwt")
    client = a.client(a.shared_user())
    jtis = {jwt_parts(a.token(client)["access_token"])[1]["jti"] for _ in range(3)}
    assert len(jtis) == 3


def test_revoked_jwt_is_refused_at_once(a: Tenant) -> None:
    a.set_format("jwt")
    client = a.client(a.shared_user())
    pair = a.token(client)
    token = pair["access_token"]
    assert a.me(token).status_code == 200
    assert a.revoke(client, token).status_code == 200
    r = a.me(token)
    assert r.status_code == 401 and r.json()["fault"]["code"] == "900901"
    assert a.introspect(client, token).json() == {"active": False}
    # The pair went with it: the refresh token no longer works.
    assert a.refresh(client, pair["refresh_token"]).status_code == 400
    # A resource server that only checks signatures still accepts it until exp (documented).
    verify_with_jwks(a, token)


def test_refresh_rotation_ends_the_old_jwt(a: Tenant) -> None:
    a.set_format("jwt")
    client = a.client(a.shared_user())
    first = a.token(client)
    second = a.refresh(client, first["refresh_token"]).json()
    assert a.me(first["access_token"]).status_code == 401
    assert a.me(second["access_token"]).status_code == 200
    # Replaying the old refresh token revokes the family, the new JWT included.
    assert a.refresh(client, first["refresh_token"]).status_code == 400
    assert a.me(second["access_token"]).status_code == 401


def test_client_deletion_and_user_removal_end_jwts(a: Tenant) -> None:
    a.set_format("jwt")
    user = a.user()
    client = a.client(user)
    token = a.token(client)["access_token"]
    r = a.http.delete(f"/clients/v2/{client.name}", auth=user.auth)
    assert r.status_code == 200, r.text
    assert a.me(token).status_code == 401
    other = a.client(user)
    token = a.token(other)["access_token"]
    a.server.admin("users", "remove", user.username, "--tenant", a.code)
    assert a.me(token).status_code == 401


def test_switching_format_keeps_issued_tokens_working(a: Tenant) -> None:
    a.set_format("opaque")
    client = a.client(a.shared_user())
    opaque = a.token(client)["access_token"]
    a.set_format("jwt")
    signed = a.token(client)["access_token"]
    a.set_format("opaque")
    assert a.me(opaque).status_code == 200
    assert a.me(signed).status_code == 200


def test_jwt_of_one_tenant_is_refused_by_another(a: Tenant, b: Tenant) -> None:
    a.set_format("jwt")
    token = a.token(a.client(a.shared_user()))["access_token"]
    assert b.me(token).status_code == 401
    b_client = b.client(b.shared_user())
    assert b.introspect(b_client, token).json() == {"active": False}


def test_expired_jwt_is_refused(make_server) -> None:
    from tests.oauth.conftest import FAST_CACHE, Tenant

    # Lifetimes count from the whole second of issue: 3 s leaves at least 2 for the first call.
    srv = make_server(env={**FAST_CACHE, "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": "3"})
    t = Tenant(srv, "sd2e", srv.base_url + "/")
    t.set_format("jwt")
    client = t.client(t.user())
    asked = time.monotonic()
    token = t.token(client)["access_token"]
    assert t.me(token).status_code == 200
    time.sleep(max(0.0, asked + 3.2 - time.monotonic()))
    assert t.me(token).status_code == 401
    assert t.introspect(client, token).json() == {"active": False}
