"""``Agave(tenant_id=...).login()``: the device flow from Python, with a callback for GUIs
and notebooks; afterwards the seed's methods need no password and never prompt."""

from __future__ import annotations

import time

import pytest

from agavepy.agave import Agave
from agavepy.errors import LoginDeniedError
from agavepy.models import DeviceAuthorization
from tests.conftest import User
from tests.device.conftest import FAST_POLLING, approve_over_http


def _agave(server, cache) -> Agave:
    return Agave(tenant_id="sd2e", tenants_url=server.tenants_url, cache_dir=cache, prompt=False)


def test_login_then_the_seeds_methods_without_a_password(device_server, person, tmp_path):
    user = person()
    cache = tmp_path / "agave"
    seen: list[DeviceAuthorization] = []

    def approve(authorization: DeviceAuthorization) -> None:
        seen.append(authorization)  # a notebook would show it; here a person approves it
        approve_over_http(device_server.base_url, user, authorization.user_code)

    ag = _agave(device_server, cache)
    profile = ag.login(callback=approve)
    assert profile.username == user.username == ag.username
    assert seen[0].verification_uri == device_server.base_url + "/device"
    assert ag.is_login_session() and ag.token

    ag.clients_create("sdk_after_login", "made with the login's token")
    assert ag.api_key and ag.api_secret and ag.client_name == "sdk_after_login"
    assert [c.name for c in ag.clients_list()] == ["sdk_after_login"]
    ag.clients_subscribe("PublicKeys", "v2", "admin")
    assert "PublicKeys" in {s.api_name for s in ag.clients_subscriptions()}

    # A later process: the saved sessions alone (no password, no prompt).
    again = Agave.restore(cache_dir=cache, prompt=False)
    assert again.client_name == "sdk_after_login"
    assert [c.name for c in again.clients_list()] == ["sdk_after_login"]
    login = again.login_session()
    assert login is not None and login.profile().username == user.username
    again.clients_delete("sdk_after_login")

    again.logout()
    assert again.login_session() is None
    ag.close()
    again.close()


def test_login_prints_the_code_by_default(device_server, person, tmp_path, capsys):
    user = person()
    ag = _agave(device_server, tmp_path / "agave")

    def deny_after_printing(authorization: DeviceAuthorization) -> None:
        from agavepy import prompts

        prompts.show_device_login(authorization)
        approve_over_http(device_server.base_url, user, authorization.user_code, "deny")

    with pytest.raises(LoginDeniedError):
        ag.login(callback=deny_after_printing)
    out = capsys.readouterr().out
    assert "enter the code:" in out and device_server.base_url + "/device" in out
    assert not (tmp_path / "agave" / "current").exists()
    ag.close()


def test_an_expired_login_token_is_refreshed_and_saved(make_server, tmp_path):
    srv = make_server(env={**FAST_POLLING, "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": "2"})
    user = User("refresher", "pw-refresher-1")
    srv.add_user(user.username, user.password)
    cache = tmp_path / "agave"
    ag = _agave(srv, cache)
    ag.login(callback=lambda a: approve_over_http(srv.base_url, user, a.user_code))
    first = ag.token
    time.sleep(3)  # the access token has expired
    later = Agave.restore(cache_dir=cache, prompt=False)
    assert later.clients_list() == []  # refreshed, no password asked
    saved = later.store.find("sd2e", user.username, "agave-cli")
    assert saved is not None and saved["access_token"] not in ("", first)
    ag.close()
    later.close()
