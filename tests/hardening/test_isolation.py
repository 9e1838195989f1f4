"""Isolation: one user's clients, one tenant's credentials and one client's
tokens are invisible and useless to everyone else.

A foreign client answers 404 exactly like a missing one, so client names do
not leak between users.
"""

from __future__ import annotations

import httpx
import pytest

from tests.conftest import User, unique_name
from tests.hardening.api import (
    OAuthClient,
    client_name,
    create_client,
    login,
    pair_of,
    password_grant,
    profile,
    refresh_grant,
    token_works,
)
from tests.support.server import ServerProcess


@pytest.fixture
def alice_and_bob(new_user) -> tuple[User, User]:
    return new_user(), new_user()


def _foreign_calls(name: str) -> list[tuple[str, str, dict]]:
    """Every per-client call of the clients service, aimed at ``name``."""
    return [
        ("GET", f"/clients/v2/{name}", {}),
        ("DELETE", f"/clients/v2/{name}", {}),
        ("GET", f"/clients/v2/{name}/subscriptions", {}),
        ("POST", f"/clients/v2/{name}/subscriptions", {"data": {"apiName": "Apps"}}),
        ("DELETE", f"/clients/v2/{name}/subscriptions", {"params": {"apiName": "*"}}),
    ]


def test_a_user_cannot_touch_another_users_client(http: httpx.Client, alice_and_bob) -> None:
    alice, bob = alice_and_bob
    owned = create_client(http, alice)
    missing = client_name("nobody")
    for method, path, kw in _foreign_calls(owned.name):
        foreign = http.request(method, path, auth=bob.auth, **kw)
        assert foreign.status_code == 404, (method, path, foreign.text)
        # Same answer as for a client that does not exist: nothing leaks.
        absent = http.request(method, path.replace(owned.name, missing), auth=bob.auth, **kw)
        assert absent.status_code == 404
        assert foreign.json()["status"] == absent.json()["status"] == "error"
    listed = http.get("/clients/v2", auth=bob.auth, params={"limit": 1000})
    assert owned.name not in [c["name"] for c in listed.json()["result"]]
    # Bob's attempts changed nothing: Alice's client and subscriptions are intact.
    mine = http.get(f"/clients/v2/{owned.name}/subscriptions", auth=alice.auth)
    assert mine.status_code == 200
    assert len(mine.json()["result"]) >= 11
    assert token_works(http, login(http, owned, alice).access)


def test_client_names_are_per_user(http: httpx.Client, alice_and_bob) -> None:
    """Bob may reuse Alice's client name: a 409 would tell him the name exists."""
    alice, bob = alice_and_bob
    theirs = create_client(http, alice)
    mine = create_client(http, bob, theirs.name)
    assert mine.key != theirs.key
    res = http.delete(f"/clients/v2/{theirs.name}", auth=bob.auth)
    assert res.status_code == 200
    assert http.get(f"/clients/v2/{theirs.name}", auth=alice.auth).status_code == 200
    assert http.get(f"/clients/v2/{theirs.name}", auth=bob.auth).status_code == 404


def test_a_user_cannot_mint_tokens_with_another_users_client(
    http: httpx.Client, alice_and_bob
) -> None:
    alice, bob = alice_and_bob
    owned = create_client(http, alice)
    # Bob knows the key (it is an identifier) but not the secret.
    guessed = OAuthClient(owned.name, owned.key, "0" * len(owned.secret))
    res = password_grant(http, guessed, bob)
    assert res.status_code == 401
    assert res.json()["error"] == "invalid_client"
    assert "access_token" not in res.json()
    # Even with the secret (leaked), a client only mints tokens for its owner.
    res = password_grant(http, owned, bob)
    assert res.status_code in (400, 401, 403), res.text
    assert "access_token" not in res.json()


def test_a_refresh_token_is_bound_to_its_client(http: httpx.Client, alice_and_bob) -> None:
    alice, bob = alice_and_bob
    alices = create_client(http, alice)
    bobs = create_client(http, bob)
    pair = login(http, alices, alice)
    res = refresh_grant(http, bobs, pair.refresh)
    assert res.status_code == 400, res.text
    assert res.json()["error"] == "invalid_grant"
    # Another client's key also works not with Alice's own refresh token by accident:
    # the rightful owner can still use it.
    assert token_works(http, pair_of(refresh_grant(http, alices, pair.refresh)).access)


def test_admin_password_is_for_admins_only(http: httpx.Client, new_user) -> None:
    plain, victim, admin = new_user(), new_user(), new_user(admin=True)
    for caller in (plain, admin):
        client = create_client(http, caller)
        res = http.post(
            "/token",
            auth=client.auth,
            data={
                "grant_type": "admin_password",
                "username": caller.username,
                "password": caller.password,
                "token_username": victim.username,
                "scope": "PRODUCTION",
            },
        )
        if caller is plain:
            assert res.status_code in (400, 401, 403), res.text
            assert "access_token" not in res.json()
            assert res.json()["error"] in ("invalid_grant", "unauthorized_client", "access_denied")
        else:
            me = profile(http, pair_of(res).access)
            assert me.json()["result"]["username"] == victim.username


def test_admin_password_needs_the_admins_own_password(http: httpx.Client, new_user) -> None:
    admin, victim = new_user(admin=True), new_user()
    client = create_client(http, admin)
    res = http.post(
        "/token",
        auth=client.auth,
        data={
            "grant_type": "admin_password",
            "username": admin.username,
            "password": victim.password,
            "token_username": victim.username,
        },
    )
    assert res.status_code in (400, 401), res.text
    assert "access_token" not in res.json()


# -- tenants -------------------------------------------------------------------


def _as_tenant(srv: ServerProcess, host: str) -> httpx.Client:
    """A client that names tenant ``host`` in its Host header (loopback either way)."""
    return srv.client(headers={"Host": f"{host}:{srv.port}"})


def test_credentials_and_tokens_never_cross_tenants(two_tenants: ServerProcess) -> None:
    name = unique_name("twin")
    # The same username in both tenants, with different passwords.
    home = User(name, "home-" + unique_name(), "sd2e")
    away = User(name, "away-" + unique_name(), "tacc")
    two_tenants.add_user(home.username, home.password, tenant="sd2e")
    two_tenants.add_user(away.username, away.password, tenant="tacc")
    with _as_tenant(two_tenants, "127.0.0.1") as sd2e, _as_tenant(two_tenants, "localhost") as tacc:
        assert sd2e.get("/clients/v2", auth=home.auth).status_code == 200
        assert tacc.get("/clients/v2", auth=home.auth).status_code == 401
        assert sd2e.get("/clients/v2", auth=away.auth).status_code == 401

        client = create_client(sd2e, home)
        pair = login(sd2e, client, home)
        # The sd2e client's key and secret mean nothing on tacc...
        res = password_grant(tacc, client, away)
        assert res.status_code == 401 and res.json()["error"] == "invalid_client"
        # ...nor do its tokens, access or refresh.
        assert profile(tacc, pair.access).status_code == 401
        assert refresh_grant(tacc, client, pair.refresh).status_code == 401
        # The tacc twin's clients are not listed or reachable from sd2e.
        tacc_client = create_client(tacc, away, client.name)
        shown = tacc.get(f"/clients/v2/{client.name}", auth=away.auth).json()["result"]
        assert shown["_links"]["self"]["href"].startswith(f"http://localhost:{two_tenants.port}/")
        assert (
            sd2e.get(f"/clients/v2/{tacc_client.name}", auth=home.auth).json()["result"][
                "consumerKey"
            ]
            == client.key
        )
        assert profile(sd2e, login(tacc, tacc_client, away).access).status_code == 401
        # Everything still works at home.
        me = profile(sd2e, pair_of(refresh_grant(sd2e, client, pair.refresh)).access)
        assert me.status_code == 200 and me.json()["result"]["username"] == name


def test_admin_of_one_tenant_has_no_power_in_another(two_tenants: ServerProcess) -> None:
    admin = User(unique_name("adm"), "pw-" + unique_name(), "sd2e")
    victim = User(unique_name("vic"), "pw-" + unique_name(), "tacc")
    two_tenants.add_user(admin.username, admin.password, tenant="sd2e", admin=True)
    two_tenants.add_user(victim.username, victim.password, tenant="tacc")
    with _as_tenant(two_tenants, "127.0.0.1") as sd2e:
        client = create_client(sd2e, admin)
        res = sd2e.post(
            "/token",
            auth=client.auth,
            data={
                "grant_type": "admin_password",
                "username": admin.username,
                "password": admin.password,
                "token_username": victim.username,
            },
        )
        assert res.status_code in (400, 401, 403, 404), res.text
        assert "access_token" not in res.json()


# -- what a stranger can learn or break --------------------------------------------------


def test_unknown_user_and_wrong_password_look_the_same(http: httpx.Client, user) -> None:
    """Error answers must not tell an attacker which usernames exist."""
    ghost = (unique_name("ghost"), user.password)
    wrong = (user.username, user.password + "x")
    a, b = http.get("/clients/v2", auth=ghost), http.get("/clients/v2", auth=wrong)
    assert a.status_code == b.status_code == 401
    assert a.json()["message"] == b.json()["message"]
    client = create_client(http, user)
    a = password_grant(http, client, User(*ghost))
    b = password_grant(http, client, User(*wrong))
    assert a.status_code == b.status_code == 400
    assert a.json() == b.json()


def test_a_client_cannot_revoke_another_clients_tokens(http: httpx.Client, alice_and_bob) -> None:
    """RFC 7009 section 2.1: the server checks the token was issued to the revoking client."""
    alice, bob = alice_and_bob
    alices, bobs = create_client(http, alice), create_client(http, bob)
    pair = login(http, alices, alice)
    for token in (pair.access, pair.refresh):
        res = http.post("/revoke", auth=bobs.auth, data={"token": token})
        assert res.status_code in (200, 400, 401, 403), res.text
    assert token_works(http, pair.access)
    assert token_works(http, pair_of(refresh_grant(http, alices, pair.refresh)).access)


def test_token_kinds_are_not_interchangeable(http: httpx.Client, user) -> None:
    client = create_client(http, user)
    pair = login(http, client, user)
    assert profile(http, pair.refresh).status_code == 401
    res = refresh_grant(http, client, pair.access)
    assert res.status_code == 400 and res.json()["error"] == "invalid_grant"
    # A consumer secret is not a token either.
    assert profile(http, client.secret).status_code == 401


def test_removing_a_user_revokes_everything(http: httpx.Client, server: ServerProcess, user):
    client = create_client(http, user)
    pair = login(http, client, user)
    server.admin("users", "remove", user.username, "--tenant", user.tenant)
    assert http.get("/clients/v2", auth=user.auth).status_code == 401
    assert not token_works(http, pair.access)
    assert refresh_grant(http, client, pair.refresh).status_code in (400, 401)
    assert password_grant(http, client, user).status_code in (400, 401)


def test_deleting_a_client_revokes_its_tokens(http: httpx.Client, user) -> None:
    client = create_client(http, user)
    pair = login(http, client, user)
    assert http.delete(f"/clients/v2/{client.name}", auth=user.auth).status_code == 200
    assert not token_works(http, pair.access)
    res = refresh_grant(http, client, pair.refresh)
    assert res.status_code == 401 and res.json()["error"] == "invalid_client"
    # The same name again is a new client: the old key and tokens stay dead.
    again = create_client(http, user, client.name)
    assert again.key != client.key
    assert not token_works(http, pair.access)
