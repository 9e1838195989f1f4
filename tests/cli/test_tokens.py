"""``agave tokens ...`` and ``agave whoami``: the token's whole life through the command line."""

from __future__ import annotations

import re
import time

from tests.conftest import unique_name


def test_create_show_whoami(logged_in):
    agave, user, _client = logged_in
    shown = agave.ok("tokens", "show", "--json").json()
    current = agave.current()
    assert shown["access_token"] == current["access_token"] != ""
    assert shown["refresh_token"] == current["refresh_token"] != ""
    assert shown["username"] == user.username and shown["tenant"] == "sd2e"
    assert shown["expired"] is False
    assert 0 < shown["seconds_left"] <= shown["expires_in"]
    assert abs(shown["created_at"] - time.time()) < 600

    me = agave.ok("whoami", "--json").json()
    assert me["username"] == user.username
    assert me["email"] == "someone@example.org"
    assert me["first_name"] == "Some" and me["last_name"] == "One"


def test_show_says_when_in_local_time_and_words(logged_in):
    agave, _user, _client = logged_in
    res = agave.ok("tokens", "show")
    when = r"expires\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d .*\(in \d+h \d\dm\)"
    assert re.search(when, res.out), res.out


def test_refresh_rotates_and_old_tokens_stop_working(logged_in):
    agave, _user, _client = logged_in
    before = agave.current()
    res = agave.ok("tokens", "refresh", "--json")
    after = agave.current()
    assert after["access_token"] != before["access_token"]
    assert after["refresh_token"] != before["refresh_token"]
    assert res.json()["access_token"] == after["access_token"]
    assert agave.ok("whoami", "--json").json()["username"] == after["username"]


def test_revoke_current_token(logged_in):
    agave, _user, _client = logged_in
    res = agave.ok("tokens", "revoke", "--json")
    assert res.json() == {"revoked": True, "token": "session"}
    assert agave.current()["access_token"] == ""
    res = agave("whoami")
    assert res.code == 1
    assert "agave tokens create" in res.err


def test_revoked_refresh_token_says_run_tokens_create(logged_in):
    agave, _user, _client = logged_in
    refresh_token = agave.current()["refresh_token"]
    agave.ok("tokens", "revoke", refresh_token)
    res = agave("tokens", "refresh")
    assert res.code == 1, str(res)
    assert "run `agave tokens create`" in res.err
    assert len(res.err.strip().splitlines()) == 1 and "Traceback" not in res.err


def test_revoking_the_access_token_by_value_ends_the_session(logged_in):
    """The server retires the refresh token issued with it: whoami says what to do."""
    agave, _user, _client = logged_in
    token = agave.current()["access_token"]
    other = agave.ok("tokens", "revoke", token, "--json")
    assert other.json()["token"] == "given"
    res = agave("whoami")
    assert res.code == 1, str(res)
    assert "run `agave tokens create`" in res.err


def test_tokens_create_without_client(agave, user):
    agave.ok("tenants", "init", "sd2e")
    res = agave.as_user(user, "tokens", "create")
    assert res.code == 1
    assert "agave clients create" in res.err


def test_tokens_create_wrong_password(logged_in):
    agave, user, _client = logged_in
    res = agave("tokens", "create", "-u", user.username, "--password-stdin", input="nope\n")
    assert res.code == 1
    assert "nope" not in res.err and len(res.err.strip().splitlines()) == 1


def test_show_without_token(agave):
    res = agave("tokens", "show")
    assert res.code == 1 and "agave tokens create" in res.err


def test_whoami_table(logged_in):
    agave, user, _client = logged_in
    res = agave.ok("whoami")
    assert user.username in res.out and "someone@example.org" in res.out


def test_server_down_is_a_network_error(agave, user, make_server):
    srv = make_server()
    srv.add_user(user.username, user.password)
    agave.ok("tenants", "init", "--base-url", srv.base_url, "--tenants-url", srv.tenants_url)
    assert agave.as_user(user, "clients", "create", "-N", unique_name("c"), "-q").code == 0
    srv.stop()
    res = agave.as_user(user, "tokens", "create", "--json")
    assert res.code == 1
    assert res.json()["error"]["type"] == "NetworkError"
    assert "Traceback" not in res.err and len(res.err.strip().splitlines()) == 1
    res = agave.as_user(user, "tokens", "create", "--debug")
    assert res.code == 1 and "Traceback" in res.err


def test_agave_cli_verbs_still_work(logged_in):
    """Fingers that know agave-cli: auth-check, auth-tokens-refresh -S, clients-list."""
    agave, user, client = logged_in
    checked = agave.ok("auth-check", "--json").json()
    assert checked["access_token"] == agave.current()["access_token"]
    assert checked["username"] == user.username
    before = agave.current()["access_token"]
    agave.ok("auth-tokens-refresh", "-S")
    assert agave.current()["access_token"] != before
    listed = agave.as_user(user, "clients-list", "--json")
    assert [c["name"] for c in listed.json()] == [client["name"]]


def test_verbose_logs_requests_on_stderr(logged_in):
    agave, user, _client = logged_in
    res = agave.ok("whoami", "-v", "--json")
    assert res.json()["username"] == user.username  # stdout is still one document
    assert "HTTP Request: GET" in res.err and "/profiles/v2/me" in res.err
