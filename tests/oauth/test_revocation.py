"""RFC 7009 revocation for every kind of token; a refresh token ends its family."""

from __future__ import annotations

import pytest

from tests.oauth.conftest import Tenant


@pytest.mark.parametrize("fmt", ["opaque", "jwt"])
def test_revoking_an_access_token_ends_its_pair(a: Tenant, fmt: str) -> None:
    a.set_format(fmt)
    client = a.client(a.shared_user())
    pair = a.token(client)
    r = a.revoke(client, pair["access_token"], token_type_hint="access_token")
    assert (r.status_code, r.json()) == (200, {})
    assert a.me(pair["access_token"]).status_code == 401
    assert a.refresh(client, pair["refresh_token"]).status_code == 400


@pytest.mark.parametrize("fmt", ["opaque", "jwt"])
def test_revoking_a_refresh_token_ends_its_family(a: Tenant, fmt: str) -> None:
    a.set_format(fmt)
    client = a.client(a.shared_user())
    first = a.token(client)
    second = a.refresh(client, first["refresh_token"]).json()
    third = a.refresh(client, second["refresh_token"]).json()
    other_login = a.token(client)  # another family of the same client
    # A wrong hint is only a hint.
    r = a.revoke(client, third["refresh_token"], token_type_hint="access_token")
    assert r.status_code == 200
    assert a.me(third["access_token"]).status_code == 401
    assert a.refresh(client, third["refresh_token"]).status_code == 400
    assert a.me(other_login["access_token"]).status_code == 200


def test_client_credentials_tokens_can_be_revoked(a: Tenant) -> None:
    for fmt in ("opaque", "jwt"):
        a.set_format(fmt)
        client = a.client(a.shared_user())
        token = a.token(client, "client_credentials")["access_token"]
        assert a.revoke(client, token).status_code == 200
        assert a.me(token).status_code == 401


def test_unknown_and_junk_tokens_answer_200(a: Tenant) -> None:
    client = a.client(a.shared_user())
    for token in ("unknown0token", "ey.ey.ey", "a.b.c", "not/a token", "x" * 3000):
        r = a.revoke(client, token)
        assert (r.status_code, r.json()) == (200, {}), token


def test_another_clients_token_is_not_revoked(a: Tenant) -> None:
    mine, theirs = a.client(a.shared_user()), a.client(a.shared_user())
    token = a.token(theirs)["access_token"]
    r = a.revoke(mine, token)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert a.me(token).status_code == 200


def test_revocation_errors_name_the_problem(a: Tenant) -> None:
    client = a.client(a.shared_user())
    r = a.http.post("/revoke", data={}, auth=client.auth)
    assert r.status_code == 400 and "token" in r.json()["error_description"]
    r = a.revoke(client, "abc", token_type_hint="id_token")
    assert r.status_code == 400 and r.json()["error"] == "unsupported_token_type"
    assert "access_token or refresh_token" in r.json()["error_description"]
    r = a.http.post(
        "/revoke", data={"token": "abc", "client_id": client.key, "client_secret": client.secret}
    )
    assert r.status_code == 200
