"""``agave tenants list`` and ``agave tenants init`` against the real tenants service."""

from __future__ import annotations

import pexpect


def test_list_json(agave, server):
    res = agave.ok("tenants", "list", "--json")
    tenants = res.json()
    sd2e = next(t for t in tenants if t["code"] == "sd2e")
    assert sd2e["baseUrl"].rstrip("/") == server.base_url
    assert set(sd2e) >= {"code", "name", "baseUrl", "id"}


def test_list_plain_table_in_a_pipe(agave):
    res = agave.ok("tenants", "list")
    header, *rows = res.out.splitlines()
    assert header.split() == ["CODE", "NAME", "BASE", "URL"]
    assert any(row.startswith("sd2e") for row in rows)


def test_list_tenants_url_option_beats_environment(agave, server):
    res = agave(
        "tenants", "list", "--json", env={"AGAVE_TENANTS_API_BASEURL": "http://127.0.0.1:9/t"}
    )
    assert res.code == 1  # nothing listens on port 9
    res = agave.ok(
        "tenants",
        "list",
        "--json",
        "--tenants-url",
        server.tenants_url,
        env={"AGAVE_TENANTS_API_BASEURL": "http://127.0.0.1:9/t"},
    )
    assert any(t["code"] == "sd2e" for t in res.json())


def test_init_by_code_starts_a_session(agave, server):
    res = agave.ok("tenants", "init", "sd2e", "--json")
    assert res.json()["code"] == "sd2e"
    current = agave.current()
    assert current["tenantid"] == "sd2e"
    assert current["baseurl"].rstrip("/") == server.base_url


def test_init_by_base_url(agave, server):
    res = agave.ok("tenants", "init", "--base-url", server.base_url + "/", "--json")
    assert res.json()["code"] == "sd2e" and res.json()["name"] == "SD2E Tenant"
    assert agave.current()["tenantid"] == "sd2e"


def test_init_unknown_tenant_is_an_api_error(agave):
    res = agave("tenants", "init", "nosuchtenant")
    assert res.code == 1
    assert "nosuchtenant" in res.err and "Traceback" not in res.err
    assert len(res.err.strip().splitlines()) == 1


def test_init_without_code_and_without_terminal_names_the_missing_value(agave):
    res = agave("tenants", "init")
    assert res.code == 2
    assert "no tenant given" in res.err and "CODE" in res.err
    assert len(res.err.strip().splitlines()) == 1


def test_init_on_a_terminal_shows_tenants_and_asks(agave):
    child = agave.spawn("tenants", "init")
    child.expect("sd2e")
    child.expect("Tenant code")
    child.sendline("sd2e")
    child.expect("Next: agave clients create")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert agave.current()["tenantid"] == "sd2e"
