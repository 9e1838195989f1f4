"""``agave tokens introspect`` against the real server's RFC 7662 endpoint."""

from __future__ import annotations

import json

from tests.conftest import unique_name


def test_introspect_the_session_token(logged_in):
    agave, user, created = logged_in
    res = agave.ok("tokens", "introspect", "--json")
    info = res.json()
    assert info["active"] is True
    assert (info["username"], info["sub"]) == (user.username, user.username)
    assert info["client_id"] == created["consumerKey"]
    assert info["token_type"] == "bearer" and info["scope"] == "default"
    assert info["exp"] > info["iat"] > 0
    table = agave.ok("tokens", "introspect")
    assert table.out.splitlines()[0] == "Token introspection"
    assert "active      yes" in table.out and f"username    {user.username}" in table.out
    assert "(in 3h 59m)" in table.out or "(in 4h 00m)" in table.out


def test_introspect_a_given_token_and_from_stdin(logged_in):
    agave, _user, _created = logged_in
    refresh = agave.current()["refresh_token"]
    res = agave.ok("tokens", "introspect", refresh, "--json")
    assert res.json()["active"] is True and res.json()["token_type"] == "refresh_token"
    res = agave("tokens", "introspect", "-", "--json", input=agave.current()["access_token"])
    assert res.code == 0 and res.json()["active"] is True, str(res)
    res = agave("tokens", "introspect", "-", input="\n")
    assert res.code == 2 and "stdin" in res.err


def test_inactive_tokens_are_exit_1_with_a_clear_line(logged_in):
    agave, _user, _created = logged_in
    access = agave.current()["access_token"]
    agave.ok("tokens", "revoke", access)
    res = agave("tokens", "introspect", access)
    assert res.code == 1 and res.out == ""
    assert res.err.strip().startswith("agave: the token is not active")
    assert len(res.err.strip().splitlines()) == 1
    res = agave("tokens", "introspect", "not-a-token", "--json")
    assert res.code == 1 and res.json() == {"active": False}


def test_a_token_of_another_client_is_not_active_for_this_one(logged_in, make_agave):
    agave, user, _created = logged_in
    other = make_agave()
    other.ok("tenants", "init", "sd2e")
    other.as_user(user, "clients", "create", "-N", unique_name("other"), "-q")
    other.as_user(user, "tokens", "create", "-q")
    theirs = other.current()["access_token"]
    assert other.ok("tokens", "introspect", theirs, "--json").json()["active"] is True
    res = agave("tokens", "introspect", theirs, "--json")
    assert res.code == 1 and res.json() == {"active": False}


def test_refused_client_and_missing_token(logged_in):
    agave, _user, _created = logged_in
    current = agave.current()
    current["apisecret"] = "wrongsecret"
    (agave.cache_dir / "current").write_text(json.dumps(current))
    res = agave("tokens", "introspect")
    assert res.code == 1, str(res)
    assert "key and secret were refused" in res.err and "HTTP 401" in res.err
    assert "agave clients reset-secret" in res.err
    current["access_token"] = ""
    (agave.cache_dir / "current").write_text(json.dumps(current))
    res = agave("tokens", "introspect")
    assert res.code == 1 and "no access token" in res.err
