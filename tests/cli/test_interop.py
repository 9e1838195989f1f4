"""Sessions travel between ``agave``, the SDK and the Bash agave-cli's ``current`` file."""

from __future__ import annotations

import time

from agavepy.agave import Agave
from tests.conftest import unique_name


def test_session_made_by_agave_is_used_by_the_sdk(logged_in):
    agave, user, client = logged_in
    ag = Agave.restore(cache_dir=agave.cache_dir)
    assert ag.tenant_id == "sd2e" and ag.username == user.username
    assert ag.api_key == client["consumerKey"] and ag.api_secret == client["consumerSecret"]
    assert ag.client_name == client["name"]
    assert ag.profile().username == user.username


def test_session_made_by_the_sdk_is_used_by_agave(agave, user, server):
    name = unique_name("sdk")
    ag = Agave(
        api_server=server.base_url,
        tenant_id="sd2e",
        username=user.username,
        password=user.password,
        cache_dir=agave.cache_dir,
        prompt=False,
    )
    ag.clients_create(name, "made by the SDK")
    ag.get_access_token()
    shown = agave.ok("tokens", "show", "--json").json()
    assert shown["access_token"] == ag.token and shown["client_name"] == name
    assert agave.ok("whoami", "--json").json()["username"] == user.username
    sessions = agave.ok("sessions", "list", "--json").json()
    assert {
        "tenant": "sd2e",
        "username": user.username,
        "client_name": name,
        "current": True,
    } in sessions
    # and back: what agave refreshed, the SDK picks up
    agave.ok("tokens", "refresh")
    again = Agave.restore(cache_dir=agave.cache_dir)
    assert again.token == agave.current()["access_token"] != ag.token
    assert again.profile().username == user.username


def _agave_cli_current(values: dict[str, str]) -> str:
    """``current`` as agave-cli's printf writes it: its own key order, strings, no expires_at."""
    order = [
        "tenantid",
        "baseurl",
        "devurl",
        "apisecret",
        "apikey",
        "username",
        "access_token",
        "refresh_token",
        "created_at",
        "expires_in",
    ]
    body = ",".join(f'"{k}":"{values.get(k, "")}"' for k in order)
    return "{" + body + "}\n"


def test_current_written_by_agave_cli_tenants_init(agave, user, server):
    (agave.cache_dir / "current").write_text(
        _agave_cli_current(
            {
                "tenantid": "sd2e",
                "baseurl": server.base_url + "/",
                "devurl": "",
            }
        )
    )
    name = unique_name("c")
    res = agave.as_user(user, "clients", "create", "-N", name, "--json")
    assert res.code == 0, str(res)
    assert agave.current()["apikey"] == res.json()["consumerKey"]
    assert agave.as_user(user, "tokens", "create").code == 0
    assert agave.ok("whoami", "--json").json()["username"] == user.username


def test_current_written_by_agave_cli_with_a_token(agave, make_agave, user, server):
    other = make_agave()  # another machine makes the client and token with agave
    other.ok("tenants", "init", "sd2e")
    client = other.as_user(user, "clients", "create", "-N", unique_name("c"), "--json").json()
    assert other.as_user(user, "tokens", "create").code == 0
    tokens = other.current()
    (agave.cache_dir / "current").write_text(
        _agave_cli_current(
            {
                "tenantid": "sd2e",
                "baseurl": server.base_url + "/",
                "devurl": "",
                "apisecret": client["consumerSecret"],
                "apikey": client["consumerKey"],
                "username": user.username,
                "access_token": tokens["access_token"],
                "refresh_token": tokens["refresh_token"],
                "created_at": str(int(time.time())),
                "expires_in": "14400",
            }
        )
    )
    shown = agave.ok("tokens", "show", "--json").json()
    assert shown["access_token"] == tokens["access_token"] and not shown["expired"]
    assert agave.ok("whoami", "--json").json()["username"] == user.username
    assert agave.ok("sessions", "list", "--json").json()[0]["current"] is True
    agave.ok("tokens", "refresh")
    assert agave.current()["access_token"] != tokens["access_token"]
    assert agave.current()["devurl"] == ""  # keys agave-cli wrote are kept
    assert agave.ok("whoami", "--json").json()["username"] == user.username
