"""RFC 7662 introspection: the fields, who may introspect what, and tenant isolation."""

from __future__ import annotations

import pytest

from tests.oauth.conftest import Tenant

FIELDS = {"active", "scope", "client_id", "username", "sub", "exp", "iat", "token_type", "iss"}


@pytest.mark.parametrize("fmt", ["opaque", "jwt"])
def test_active_token_fields(a: Tenant, fmt: str) -> None:
    a.set_format(fmt)
    user = a.shared_user()
    client = a.client(user)
    pair = a.token(client)
    r = a.introspect(client, pair["access_token"])
    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    body = r.json()
    assert set(body) == FIELDS
    assert body["active"] is True
    assert body["client_id"] == client.key
    assert body["username"] == body["sub"] == user.username
    assert body["scope"] == "default"
    assert body["token_type"] == "bearer"
    assert body["iss"] == a.issuer
    assert 0 < body["exp"] - body["iat"] <= pair["expires_in"] + 2
    refresh = a.introspect(client, pair["refresh_token"], token_type_hint="refresh_token").json()
    assert refresh["active"] is True and refresh["token_type"] == "refresh_token"
    assert refresh["exp"] > body["exp"]


@pytest.mark.parametrize("hint", [None, "access_token", "refresh_token"])
def test_either_token_is_found_whatever_the_hint(a: Tenant, hint: str | None) -> None:
    """RFC 7662 section 2.1: the hint only says where to look first. (The usual request, an
    access token without a hint, is read with the client; the others take a second look.)"""
    client = a.client(a.shared_user())
    pair = a.token(client)
    extra = {"token_type_hint": hint} if hint else {}
    for token, kind in ((pair["access_token"], "bearer"), (pair["refresh_token"], "refresh_token")):
        body = a.introspect(client, token, **extra).json()
        assert body["active"] is True and body["token_type"] == kind, (hint, kind, body)
    other = a.client(a.shared_user())
    for token in (pair["access_token"], pair["refresh_token"]):
        assert a.introspect(other, token, **extra).json() == {"active": False}


def test_client_secret_post_authenticates_too(a: Tenant) -> None:
    client = a.client(a.shared_user())
    token = a.token(client)["access_token"]
    r = a.http.post(
        "/oauth2/introspect",
        data={"token": token, "client_id": client.key, "client_secret": client.secret},
    )
    assert r.status_code == 200 and r.json()["active"] is True
    both = a.http.post(
        "/oauth2/introspect",
        data={"token": token, "client_id": client.key, "client_secret": client.secret},
        auth=client.auth,
    )
    assert both.status_code == 400 and both.json()["error"] == "invalid_request"


def test_client_authentication_is_required(a: Tenant) -> None:
    client = a.client(a.shared_user())
    token = a.token(client)["access_token"]
    r = a.http.post("/oauth2/introspect", data={"token": token})
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    r = a.http.post("/oauth2/introspect", data={"token": token}, auth=(client.key, "wrong"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"
    assert r.headers["www-authenticate"].startswith("Basic")


@pytest.mark.parametrize("fmt", ["opaque", "jwt"])
def test_revoked_expired_junk_and_rotated_are_inactive(a: Tenant, fmt: str) -> None:
    a.set_format(fmt)
    client = a.client(a.shared_user())
    first = a.token(client)
    second = a.refresh(client, first["refresh_token"]).json()
    for token in (first["access_token"], first["refresh_token"], "junk", "ey.ey.ey", "x" * 500):
        assert a.introspect(client, token).json() == {"active": False}, token
    a.revoke(client, second["access_token"])
    assert a.introspect(client, second["access_token"]).json() == {"active": False}


def test_a_client_sees_only_its_own_tokens(a: Tenant) -> None:
    owner = a.shared_user()
    mine, theirs = a.client(owner), a.client(a.user())
    token = a.token(theirs)["access_token"]
    assert a.introspect(mine, token).json() == {"active": False}
    assert a.introspect(theirs, token).json()["active"] is True


def test_a_resource_server_sees_every_token_of_its_tenant(a: Tenant) -> None:
    rs_owner = a.user()
    rs = a.client(rs_owner)
    someone = a.client(a.shared_user())
    token = a.token(someone)["access_token"]
    assert a.introspect(rs, token).json() == {"active": False}
    out = a.server.admin("clients", "set", rs.name, "--tenant", a.code, "--resource-server").stdout
    assert "is now a resource server" in out
    assert a.introspect(rs, token).json()["active"] is True
    a.server.admin("clients", "set", rs.name, "--tenant", a.code, "--no-resource-server")
    assert a.introspect(rs, token).json() == {"active": False}


def test_a_tenant_admins_client_sees_every_token_of_its_tenant(a: Tenant) -> None:
    admin_client = a.client(a.user(admin=True))
    token = a.token(a.client(a.shared_user()))["access_token"]
    assert a.introspect(admin_client, token).json()["active"] is True


def test_a_token_of_tenant_a_is_inactive_through_tenant_b(a: Tenant, b: Tenant) -> None:
    # Even for a client of B that may see every token of B: an admin's resource server.
    b_admin = b.client(b.user(admin=True))
    b.server.admin("clients", "set", b_admin.name, "--tenant", b.code, "--resource-server")
    for fmt in ("opaque", "jwt"):
        a.set_format(fmt)
        a_client = a.client(a.shared_user())
        token = a.token(a_client)["access_token"]
        assert b.introspect(b_admin, token).json() == {"active": False}
        assert a.introspect(a_client, token).json()["active"] is True
        # Nor does A's client authenticate at B: clients are per tenant.
        r = b.introspect(a_client, token)
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_clients_set_errors_are_clear(a: Tenant) -> None:
    r = a.server.admin(
        "clients", "set", "nosuchclient", "--tenant", a.code, "--resource-server", check=False
    )
    assert r.returncode == 1 and "No client nosuchclient" in r.stderr
    r = a.server.admin("clients", "set", "x", "--tenant", a.code, check=False)
    assert r.returncode == 2 and "--resource-server" in r.stderr
    name = "shared-name"
    a.client(a.shared_user(), name)
    a.client(a.user(), name)
    r = a.server.admin("clients", "set", name, "--tenant", a.code, "--resource-server", check=False)
    assert r.returncode == 1 and "--owner" in r.stderr
    r = a.server.admin(
        "clients",
        "set",
        name,
        "--tenant",
        a.code,
        "--owner",
        a.shared_user().username,
        "--resource-server",
    )
    assert r.returncode == 0
