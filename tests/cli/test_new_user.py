"""What a new user of ``agave`` sees when something is off (issue 16): each test runs the
command the user ran and checks what it now says and does."""

from __future__ import annotations

import json
import subprocess

import pexpect

from tests.conftest import unique_name
from tests.support.server import AGAVE


def _one_line(res, code: int) -> str:
    assert res.code == code, str(res)
    lines = res.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("agave: "), str(res)
    assert "Traceback" not in res.err
    return lines[0]


# -- item 2: `tokens refresh` that did not do its job says so ---------------------------------


def test_refresh_with_an_empty_current_and_no_other_session_fails(agave):
    (agave.cache_dir / "current").write_text("")
    line = _one_line(agave("tokens", "refresh"), 2)
    assert "agave tenants init" in line
    assert "Token refreshed" not in agave("tokens", "refresh").out


def test_refresh_with_an_empty_current_refreshes_the_saved_session_and_shows_it(logged_in):
    agave, user, client = logged_in
    before = agave.config()["current"][client["name"]]
    (agave.cache_dir / "current").write_text("")
    res = agave.ok("tokens", "refresh", "--json")
    shown, now = res.json(), agave.current()
    assert shown["tenant"] == "sd2e" and shown["username"] == user.username
    assert shown["access_token"] == now["access_token"] != before["access_token"]
    assert shown["refresh_token"] == now["refresh_token"] != ""
    assert agave.ok("whoami", "--json").json()["username"] == user.username


def test_refresh_with_garbage_tokens_fails_and_says_what_to_do(logged_in):
    agave, _user, _client = logged_in
    (agave.cache_dir / "config.json").unlink()  # only `current`, as agave-cli keeps it
    garbage = {
        **agave.current(),
        "access_token": "garbage",
        "refresh_token": "junk",
        "created_at": "1000",
        "expires_in": "10",
    }
    (agave.cache_dir / "current").write_text(json.dumps(garbage))
    res = agave("tokens", "refresh")
    line = _one_line(res, 1)
    assert "refresh token is no longer valid" in line and "agave tokens create" in line
    assert "Token refreshed" not in res.out
    assert agave.current()["refresh_token"] == "junk"  # nothing pretended


def test_refresh_over_garbage_takes_the_tokens_another_program_saved(logged_in):
    agave, _user, client = logged_in
    saved = agave.config()["current"][client["name"]]
    garbage = {**agave.current(), "access_token": "garbage", "refresh_token": "junk"}
    garbage["created_at"], garbage["expires_in"] = "1000", "10"
    (agave.cache_dir / "current").write_text(json.dumps(garbage))
    res = agave.ok("tokens", "refresh")
    assert res.out.startswith("Token refreshed earlier by another program"), res.out
    assert "garbage" not in res.out
    assert agave.current()["access_token"] == saved["access_token"]  # `current` repaired


def test_refresh_without_a_refresh_token(logged_in):
    agave, _user, _client = logged_in
    (agave.cache_dir / "config.json").unlink()
    current = {**agave.current(), "refresh_token": ""}
    (agave.cache_dir / "current").write_text(json.dumps(current))
    line = _one_line(agave("tokens", "refresh"), 1)
    assert "no refresh token" in line and "agave tokens create" in line


# -- item 3: deleting a client forgets its sessions; the refused client names the cause ------


def test_delete_forgets_the_saved_session_of_any_client(agave, user):
    agave.ok("tenants", "init", "sd2e")
    old, new = unique_name("old"), unique_name("new")
    for name in (old, new):
        assert agave.as_user(user, "clients", "create", "-N", name, "-q").code == 0
    res = agave.as_user(user, "clients", "delete", old)
    assert res.code == 0, str(res)
    listed = [s["client_name"] for s in agave.ok("sessions", "list", "--json").json()]
    assert listed == [new]
    res = agave.as_user(user, "clients", "delete", new)  # the current one
    assert res.code == 0, str(res)
    listed = agave.ok("sessions", "list", "--json").json()
    assert [s["client_name"] for s in listed] == [""]  # the tenant stays chosen
    assert agave.current()["apikey"] == ""


def test_a_client_deleted_elsewhere_is_named_as_the_cause(logged_in, make_agave):
    agave, user, client = logged_in
    other = make_agave()
    other.ok("tenants", "init", "sd2e")
    assert other.as_user(user, "clients", "delete", client["name"]).code == 0
    line = _one_line(agave("whoami"), 1)
    assert "the client's key and secret were refused" in line
    assert "client may have been deleted" in line and "agave sessions forget" in line
    assert "check the username and password" not in line
    # ... and the next step works.
    res = agave.ok("sessions", "forget", client["name"], "--json")
    assert res.json()["forgotten"]["client_name"] == client["name"]
    assert agave.current()["apikey"] == "" and agave.current()["access_token"] == ""
    assert [s["client_name"] for s in agave.ok("sessions", "list", "--json").json()] == [""]
    assert _one_line(agave("sessions", "forget", "nosuch"), 2).endswith("shows them")


def test_delete_asks_on_a_terminal_and_yes_skips(agave, user):
    agave.ok("tenants", "init", "sd2e")
    keep, gone = unique_name("keep"), unique_name("gone")
    for name in (keep, gone):
        assert agave.as_user(user, "clients", "create", "-N", name, "-q").code == 0
    env = {"AGAVE_USERNAME": user.username, "AGAVE_PASSWORD": user.password}
    child = agave.spawn("clients", "delete", keep, env=env)
    child.expect(rf"Delete client {keep} on .*\? Its key and tokens stop working \[y/N\]: ")
    child.sendline("n")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 1 and "not deleted" in child.before
    child = agave.spawn("clients", "delete", gone, "--yes", env=env)
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0 and f"Client {gone} deleted." in child.before
    names = [c["name"] for c in agave.as_user(user, "clients", "list", "--json").json()]
    assert keep in names and gone not in names


# -- item 4: next-step hints name the CLI's options and the URL that was asked ----------------


def test_init_unknown_tenant_lists_the_known_ones(agave, server):
    line = _one_line(agave("tenants", "init", "nosuch"), 1)
    assert f"no tenant 'nosuch' at {server.tenants_url}" in line
    assert "known tenants: sd2e" in line and "agave clients list" not in line


def test_tenants_variable_set_to_a_base_url(agave, server):
    res = agave("tenants", "list", env={"AGAVE_TENANTS_API_BASEURL": server.base_url})
    line = _one_line(res, 1)
    assert f"no tenants list at {server.base_url}" in line
    assert "full URL of the tenants list" in line and "/tenants" in line
    assert f"AGAVE_TENANTS_API_BASEURL={server.base_url}" in line
    assert "agave clients list" not in line and "No such resource" not in line


def test_tenants_service_down_names_the_option(agave):
    res = agave("tenants", "list", env={"AGAVE_TENANTS_API_BASEURL": "http://127.0.0.1:9/t"})
    line = _one_line(res, 1)
    assert "--tenants-url URL or AGAVE_TENANTS_API_BASEURL" in line
    assert "tenants_url=" not in line and "http://127.0.0.1:9/t" in line


def test_init_says_which_tenants_service_it_asked(agave, server):
    res = agave.ok("tenants", "init", "sd2e")
    assert f"tenants service  {server.tenants_url}" in res.out
    assert agave.ok("tenants", "init", "sd2e", "--json").json()["tenantsUrl"] == server.tenants_url
    env = {k: v for k, v in agave.env.items() if k != "AGAVE_TENANTS_API_BASEURL"}
    res = agave.ok("tenants", "init", "sd2e", "--tenants-url", server.tenants_url)
    assert "the default tenants service" not in res.out
    # Without the option or the variable: the default, and the output says so.
    proc = subprocess.run(
        [AGAVE, "tenants", "init", "sd2e"], capture_output=True, text=True, env=env, timeout=60
    )
    said = proc.stdout + proc.stderr
    assert "http://127.0.0.1:8000/tenants" in said and "the default" in said


# -- item 5: local input is checked before any prompt -----------------------------------------


def test_invalid_name_before_the_password_prompt(agave, user):
    agave.ok("tenants", "init", "sd2e")
    child = agave.spawn("clients", "create", "-N", "my client", "-u", user.username)
    which = child.expect(["API password", "invalid client name 'my client'"])
    assert which == 1, child.before
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 2


# -- item 10: tokens masked on a terminal; UTF-8 JSON; tiers as documented; completion --------


def test_tokens_are_masked_on_a_terminal(logged_in):
    agave, _user, _client = logged_in
    token = agave.current()["access_token"]
    child = agave.spawn("tokens", "show")
    child.expect(pexpect.EOF)
    assert token not in child.before and token[:4] + "****" in child.before
    child = agave.spawn("tokens", "show", "--show-token")
    child.expect(pexpect.EOF)
    assert token in child.before.replace("\r\n", "")
    assert agave.ok("tokens", "show", "--json").json()["access_token"] == token
    assert token in agave.ok("tokens", "show").out  # a pipe is a program: whole


def test_json_is_utf8(agave, user):
    agave.ok("tenants", "init", "sd2e")
    name = unique_name("u8")
    res = agave.as_user(user, "clients", "create", "-N", name, "-D", "café ✓ 研究", "--json")
    assert res.code == 0, str(res)
    assert '"description": "café ✓ 研究"' in res.out and "\\u" not in res.out
    listed = agave.as_user(user, "clients", "list", "--json")
    assert "café ✓ 研究" in listed.out


def test_tier_error_spells_tiers_as_the_docs(agave):
    line = _one_line(agave("clients", "create", "-N", "x", "-T", "platinum"), 2)
    assert "use one of Bronze, Silver, Gold, Unlimited" in line
    assert "'bronze'" not in line


def _complete(agave, words: str) -> list[str]:
    env = {**agave.env, "_AGAVE_COMPLETE": "bash_complete", "COMP_WORDS": words}
    env["COMP_CWORD"] = str(len(words.split()) - (0 if words.endswith(" ") else 1))
    proc = subprocess.run([AGAVE], capture_output=True, text=True, env=env, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return [line.split(",", 1)[1] for line in proc.stdout.splitlines() if line]


def test_completion_offers_clients_tenants_sessions_and_tiers(agave, user):
    agave.ok("tenants", "init", "sd2e")
    names = sorted(unique_name("cmp") for _ in range(2))
    for name in names:
        assert agave.as_user(user, "clients", "create", "-N", name, "-q").code == 0
    assert sorted(_complete(agave, "agave clients delete ")) == names
    assert _complete(agave, f"agave clients show {names[0][:-2]}") == [names[0]]
    assert sorted(_complete(agave, "agave sessions switch ")) == names
    assert sorted(_complete(agave, "agave clients subscribe Jobs -N ")) == names
    assert _complete(agave, "agave sessions forget -t ") == ["sd2e"]
    assert "sd2e" in _complete(agave, "agave tenants init ")
    assert _complete(agave, "agave clients create -T g") == ["Gold"]
