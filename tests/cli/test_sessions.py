"""``agave sessions list`` / ``switch``: the sessions saved in config.json."""

from __future__ import annotations

from tests.conftest import unique_name


def test_list_and_switch(agave, user):
    agave.ok("tenants", "init", "sd2e")
    first, second = unique_name("c"), unique_name("c")
    key = {}
    for name in (first, second):
        res = agave.as_user(user, "clients", "create", "-N", name, "--json")
        assert res.code == 0, str(res)
        key[name] = res.json()["consumerKey"]
    listed = agave.ok("sessions", "list", "--json").json()
    by_client = {s["client_name"]: s for s in listed}
    assert set(by_client) == {first, second}
    assert by_client[second]["current"] and not by_client[first]["current"]
    assert by_client[first]["tenant"] == "sd2e" and by_client[first]["username"] == user.username

    res = agave.ok("sessions", "switch", first, "--json")
    assert res.json()["client_name"] == first
    assert agave.current()["apikey"] == key[first]
    listed = {s["client_name"]: s["current"] for s in agave.ok("sessions", "list", "--json").json()}
    assert listed == {first: True, second: False}

    table = agave.ok("sessions", "list").out
    assert any(line.startswith("*") and first in line for line in table.splitlines())


def test_switch_needs_a_unique_match(agave, user):
    agave.ok("tenants", "init", "sd2e")
    for _ in range(2):
        assert agave.as_user(user, "clients", "create", "-N", unique_name("c"), "-q").code == 0
    res = agave("sessions", "switch", "-t", "sd2e")
    assert res.code == 2 and "2 saved sessions match" in res.err
    res = agave("sessions", "switch", "nosuchclient")
    assert res.code == 2 and "agave sessions list" in res.err


def test_list_empty(agave):
    res = agave.ok("sessions", "list", "--json")
    assert res.json() == []
