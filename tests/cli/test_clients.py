"""``agave clients ...``: create (the secret shown once), list, show, delete, subscriptions."""

from __future__ import annotations

import pytest

from agavepy.wire import DEFAULT_API_NAMES
from tests.conftest import unique_name

DEFAULT_APIS = set(DEFAULT_API_NAMES)


@pytest.fixture
def with_tenant(agave):
    agave.ok("tenants", "init", "sd2e")
    return agave


def test_create_shows_the_secret_once_and_saves_it(with_tenant, user):
    agave = with_tenant
    name = unique_name("c")
    res = agave.as_user(user, "clients", "create", "-N", name, "-D", "my laptop", "--json")
    assert res.code == 0, str(res)
    client = res.json()
    assert client["name"] == name and client["description"] == "my laptop"
    assert client["consumerKey"] and client["consumerSecret"]
    assert "shown only now" in res.err  # the notice goes to stderr, stdout stays one document
    current = agave.current()
    assert current["apikey"] == client["consumerKey"]
    assert current["apisecret"] == client["consumerSecret"]
    assert current["username"] == user.username
    assert name in agave.config()["current"]
    assert user.password not in (agave.cache_dir / "current").read_text()
    assert user.password not in (agave.cache_dir / "config.json").read_text()

    listed = agave.as_user(user, "clients", "list", "--json")
    assert listed.code == 0, str(listed)
    assert [c["name"] for c in listed.json()] == [name]
    assert "consumerSecret" not in listed.json()[0]
    shown = agave.as_user(user, "clients", "show", name, "--json")
    assert shown.json()["consumerKey"] == client["consumerKey"]
    assert "consumerSecret" not in shown.json()
    for args in (("clients", "list"), ("clients", "show", name)):
        res = agave.as_user(user, *args)
        assert client["consumerSecret"] not in res.out + res.err


def test_create_table_marks_the_secret(with_tenant, user):
    res = with_tenant.as_user(user, "clients", "create", "-N", unique_name("c"), "-T", "bronze")
    assert res.code == 0, str(res)
    assert "consumer secret" in res.out
    assert "Bronze" in res.out
    assert "shown only now" in res.err


def test_list_plain_and_options_before_the_verb(with_tenant, user):
    agave = with_tenant
    names = sorted(unique_name("c") for _ in range(2))
    for name in names:
        assert agave.as_user(user, "clients", "create", "-N", name, "-q").code == 0
    res = agave("-u", user.username, "--password-stdin", "clients", "list", input=user.password)
    assert res.code == 0, str(res)
    header, *rows = res.out.splitlines()
    assert header.split()[:2] == ["NAME", "DESCRIPTION"]
    assert sorted(row.split()[0] for row in rows) == names


def test_password_from_environment(with_tenant, user):
    res = with_tenant(
        "clients",
        "list",
        "--json",
        env={"AGAVE_USERNAME": user.username, "AGAVE_PASSWORD": user.password},
    )
    assert res.code == 0, str(res)
    assert res.json() == []


def test_password_option_works_with_a_warning(with_tenant, user):
    res = with_tenant("clients", "list", "-u", user.username, "-p", user.password, "--json")
    assert res.code == 0, str(res)
    assert "visible to other users" in res.err and user.password not in res.err


def test_quiet_prints_nothing(with_tenant, user):
    res = with_tenant.as_user(user, "clients", "create", "-N", unique_name("c"), "-q")
    assert res.code == 0 and res.out == "" and res.err == ""


def test_subscriptions_subscribe_unsubscribe(with_tenant, user):
    agave = with_tenant
    name = unique_name("c")
    assert agave.as_user(user, "clients", "create", "-N", name, "-q").code == 0
    subs = agave.as_user(user, "clients", "subscriptions", "--json")
    assert subs.code == 0, str(subs)
    assert {s["apiName"] for s in subs.json()} == DEFAULT_APIS
    assert all(
        set(s) >= {"apiName", "apiVersion", "apiProvider", "apiContext", "tier"}
        for s in subs.json()
    )

    res = agave.as_user(user, "clients", "unsubscribe", "Jobs", "--json")
    assert res.code == 0, str(res)
    assert res.json()["client"] == name
    after = agave.as_user(user, "clients", "subscriptions", name, "--json").json()
    assert {s["apiName"] for s in after} == DEFAULT_APIS - {"Jobs"}

    res = agave.as_user(user, "clients", "subscribe", "Jobs", "-V", "v2", "-P", "admin", "--json")
    assert res.code == 0, str(res)
    assert [s["apiName"] for s in res.json()] == ["Jobs"]
    after = agave.as_user(user, "clients", "subscriptions", "--json").json()
    assert {s["apiName"] for s in after} == DEFAULT_APIS

    assert agave.as_user(user, "clients", "unsubscribe", "*", "-N", name).code == 0
    assert agave.as_user(user, "clients", "subscriptions", "--json").json() == []
    res = agave.as_user(user, "clients", "subscribe", "*", "-N", name, "--json")
    assert res.code == 0, str(res)
    assert {s["apiName"] for s in res.json()} == DEFAULT_APIS


def test_subscribe_unknown_api_is_an_api_error(with_tenant, user):
    assert with_tenant.as_user(user, "clients", "create", "-N", unique_name("c"), "-q").code == 0
    res = with_tenant.as_user(user, "clients", "subscribe", "NoSuchApi")
    assert res.code == 1
    assert "400" in res.err and len(res.err.strip().splitlines()) == 1


def test_delete_named_and_current(with_tenant, user):
    agave = with_tenant
    first, second = unique_name("c"), unique_name("c")
    assert agave.as_user(user, "clients", "create", "-N", first, "-q").code == 0
    assert agave.as_user(user, "clients", "create", "-N", second, "-q").code == 0
    res = agave.as_user(user, "clients", "delete", first, "--json")
    assert res.code == 0 and res.json() == {"deleted": first}
    assert agave.current()["apikey"]  # the session's client is the second: kept
    res = agave.as_user(user, "clients", "delete")  # the session's client
    assert res.code == 0, str(res)
    assert second in res.out
    assert agave.current()["apikey"] == "" and agave.current()["access_token"] == ""
    assert agave.as_user(user, "clients", "list", "--json").json() == []


def test_duplicate_name_is_a_conflict(with_tenant, user):
    name = unique_name("c")
    assert with_tenant.as_user(user, "clients", "create", "-N", name, "-q").code == 0
    res = with_tenant.as_user(user, "clients", "create", "-N", name)
    assert res.code == 1
    assert "409" in res.err and len(res.err.strip().splitlines()) == 1


def test_show_unknown_client(with_tenant, user):
    res = with_tenant.as_user(user, "clients", "show", "nosuchclient", "--json")
    assert res.code == 1
    assert res.json()["error"]["status"] == 404
    assert "agave clients list" in res.err


def test_invalid_client_name_is_refused_before_sending(with_tenant, user):
    res = with_tenant.as_user(user, "clients", "create", "-N", "bad name/with slash")
    assert res.code == 2
    assert "invalid client name" in res.err


def test_wrong_password_one_line_no_password_echo(with_tenant, user):
    res = with_tenant(
        "clients", "list", "-u", user.username, "--password-stdin", input="wrong-password-xyz\n"
    )
    assert res.code == 1
    assert "401" in res.err and "wrong-password-xyz" not in res.err + res.out
    assert len(res.err.strip().splitlines()) == 1


def test_missing_password_without_terminal(with_tenant, user):
    res = with_tenant("clients", "list", "-u", user.username)
    assert res.code == 2
    assert "password" in res.err and "--password-stdin" in res.err
    assert len(res.err.strip().splitlines()) == 1


def test_missing_username_without_terminal(with_tenant):
    res = with_tenant("clients", "list", "--password-stdin", input="x\n")
    assert res.code == 2
    assert "username" in res.err and "AGAVE_USERNAME" in res.err


def test_missing_name_without_terminal(with_tenant, user):
    res = with_tenant.as_user(user, "clients", "create")
    assert res.code == 2 and "client name" in res.err and "-N" in res.err


def test_no_tenant_yet(agave, user):
    res = agave.as_user(user, "clients", "list")
    assert res.code == 2
    assert "agave tenants init" in res.err


def test_base_url_option_without_session(agave, user, server):
    res = agave.as_user(user, "clients", "list", "-H", server.base_url, "--json")
    assert res.code == 0, str(res)
    assert res.json() == []


def test_prompts_on_a_terminal(with_tenant, user):
    import pexpect

    name = unique_name("c")
    child = with_tenant.spawn("clients", "create", "-D", "typed")
    child.expect("Client name")
    child.sendline(name)
    child.expect("API username")
    child.sendline(user.username)
    child.expect("API password")
    child.sendline(user.password)
    child.expect("shown only now")
    transcript = child.before or ""
    child.expect(pexpect.EOF)
    transcript += child.before or ""
    child.close()
    assert child.exitstatus == 0
    assert user.password not in transcript  # not echoed
    assert with_tenant.current()["username"] == user.username
    listed = with_tenant.as_user(user, "clients", "list", "--json").json()
    assert [c["name"] for c in listed] == [name]


def test_create_with_base_url_only_files_the_session_under_the_tenant(agave, user, server):
    res = agave.as_user(user, "clients", "create", "-N", unique_name("c"), "-H", server.base_url)
    assert res.code == 0, str(res)
    assert agave.current()["tenantid"] == "sd2e"
    assert agave.current()["baseurl"].rstrip("/") == server.base_url
