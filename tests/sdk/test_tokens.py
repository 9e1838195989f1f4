"""The token lifecycle against the real server: create, refresh, rotation, auto-refresh, revoke."""

from __future__ import annotations

import json
import time

import httpx
import pytest

from agavepy.agave import Agave
from agavepy.errors import NoClientError, NoTokenError, TokenExpiredError
from agavepy.models import Profile
from agavepy.token import Token
from tests.conftest import User


def short_server(make_server, seconds: int):
    return make_server(env={"AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": str(seconds)})


def user_on(srv, name="shorty") -> User:
    user = User(name, "pw-" + name + "-secret")
    srv.add_user(
        user.username,
        user.password,
        email=f"{name}@example.org",
        first_name="Short",
        last_name="Lived",
    )
    return user


def test_get_access_token_and_profile(make_agave, user, cache_dir, capsys):
    ag = make_agave(user)
    with pytest.raises(NoClientError, match=r"clients_create\(name, description\)"):
        ag.get_access_token()
    ag.clients_create("tok1", "tokens")
    ag.get_access_token()
    assert ag.token and ag.refresh_token and ag.expires_in > 60
    assert abs(ag.created_at - time.time()) < 120 and ag.expires_at
    profile = ag.profile()
    assert isinstance(profile, Profile)
    assert (profile.username, profile.email, profile.first_name) == (
        user.username,
        "someone@example.org",
        "Some",
    )
    current = json.loads((cache_dir / "current").read_text())
    assert current["access_token"] == ag.token and current["refresh_token"] == ag.refresh_token
    ag.refresh_tokens()  # fresh: nothing to do
    assert capsys.readouterr().out == ""


def test_refresh_tokens_within_60s_of_expiry_rotates(make_server, tmp_path, capsys):
    srv = short_server(make_server, 30)  # a fresh token is already within 60 s of expiry
    user = user_on(srv)
    ag = Agave(
        api_server=srv.base_url,
        tenant_id="sd2e",
        username=user.username,
        password=user.password,
        cache_dir=tmp_path / "c",
        prompt=False,
    )
    ag.clients_create("short1", "")
    ag.get_access_token()
    old_access, old_refresh = ag.token, ag.refresh_token
    ag.refresh_tokens()
    assert capsys.readouterr().out == "Refreshing token...\n"
    assert ag.token != old_access and ag.refresh_token != old_refresh
    assert ag.profile().username == user.username
    # The retired refresh token no longer works.
    stale = Token(
        srv.base_url,
        ag.api_key,
        ag.api_secret,
        access_token=old_access,
        refresh_token=old_refresh,
        expires_in=30,
        created_at=int(time.time()),
    )
    with pytest.raises(TokenExpiredError, match="refresh token is no longer valid"):
        stale.refresh()


def test_bearer_flow_refreshes_an_expired_token_before_sending(make_server, tmp_path):
    srv = short_server(make_server, 2)
    user = user_on(srv)
    ag = Agave(
        api_server=srv.base_url,
        tenant_id="sd2e",
        username=user.username,
        password=user.password,
        cache_dir=tmp_path / "c",
        prompt=False,
    )
    ag.clients_create("exp1", "")
    ag.get_access_token()
    first = ag.token
    time.sleep(3)  # let it expire (waiting, not measuring)
    assert ag.pair().is_expired()
    assert ag.profile().username == user.username
    assert ag.token != first
    saved = json.loads((tmp_path / "c" / "current").read_text())
    assert saved["access_token"] == ag.token


def test_bearer_flow_refreshes_once_on_401_and_retries(make_server, tmp_path):
    srv = short_server(make_server, 2)
    user = user_on(srv)
    ag = Agave(
        api_server=srv.base_url,
        tenant_id="sd2e",
        username=user.username,
        password=user.password,
        cache_dir=tmp_path / "c",
        prompt=False,
    )
    ag.clients_create("r401", "")
    ag.get_access_token()
    stale = ag.token
    time.sleep(3)  # the server now refuses it...
    ag.created_at = int(time.time())  # ...but our clock says it is fresh: only a 401 tells
    assert not ag.pair().is_expired()
    assert ag.profile().username == user.username
    assert ag.token != stale
    # When the refresh token is gone too, the error says to get a new token.
    ag.tokens.revoke(ag.refresh_token)
    ag.tokens.revoke(ag.token)
    ag.created_at = int(time.time())
    with pytest.raises(TokenExpiredError, match="get_access_token"):
        ag.profile()


def test_revoke_current_token(make_agave, user):
    ag = make_agave(user)
    ag.clients_create("rev1", "")
    ag.get_access_token()
    ag.tokens.revoke()
    assert ag.token is None
    with pytest.raises(NoTokenError):
        ag.profile()


def test_standalone_token(make_agave, user, server):
    ag = make_agave(user)
    client = ag.clients.create("standalone", "")
    seen = []
    token = Token(
        server.base_url + "/", client.consumer_key, client.consumer_secret, on_change=seen.append
    )
    assert token.is_expired() and token.expires_at is None
    pair = token.create(user.username, user.password)
    assert not token.is_expired() and seen == [pair]
    assert abs(token.expires_at.timestamp() - (time.time() + pair.expires_in)) < 120
    with httpx.Client(base_url=server.base_url) as http:
        me = http.get("/profiles/v2/me", auth=token.auth)
        assert me.status_code == 200 and me.json()["result"]["username"] == user.username
    new = token.refresh()
    assert new.access_token != pair.access_token and seen[-1] == new
    token.revoke()
    assert token.is_expired()
    with httpx.Client(base_url=server.base_url) as http:
        me = http.get("/profiles/v2/me", headers={"Authorization": f"Bearer {new.access_token}"})
        assert me.status_code == 401
    token.close()


def test_refresh_a_session_agave_cli_wrote(make_agave, user, server, cache_dir):
    """agave-cli's ``current`` alone (no config.json, no client name): refresh in place."""
    client = make_agave(user).clients.create("clisess", "")
    token = Token(server.base_url, client.consumer_key, client.consumer_secret)
    pair = token.create(user.username, user.password)
    cache_dir.mkdir()
    (cache_dir / "current").write_text(
        f'{{"tenantid":"sd2e","baseurl":"{server.base_url}/","devurl":"",'
        f'"apisecret":"{client.consumer_secret}","apikey":"{client.consumer_key}",'
        f'"username":"{user.username}","access_token":"{pair.access_token}",'
        f'"refresh_token":"{pair.refresh_token}","created_at":"{pair.created_at}",'
        f'"expires_in":"{pair.expires_in}"}}\n'
    )
    ag = Agave.restore(cache_dir=cache_dir, prompt=False)
    assert ag.client_name is None
    new = ag.tokens.refresh(force=True)
    current = json.loads((cache_dir / "current").read_text())
    assert current["access_token"] == new.access_token != pair.access_token
    assert current["baseurl"] == server.base_url  # normalised; the CLI accepts both
    assert not (cache_dir / "config.json").exists()
    assert ag.profile().username == user.username
    ag.close()
    token.close()
