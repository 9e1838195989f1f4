"""``ag.clients.update`` / ``reset_secret`` and the seed-style ``clients_update`` /
``clients_reset_secret`` against the real server, including what they do to ``~/.agave``."""

from __future__ import annotations

import json

import pytest

from agavepy.agave import Agave
from agavepy.errors import (
    AuthenticationError,
    BadRequestError,
    NoClientError,
    NotFoundError,
    TokenExpiredError,
)
from agavepy.models import Client


def test_update_returns_the_client_as_it_is_now(make_agave, user, capsys):
    ag = make_agave(user)
    ag.clients.create("upd1", "before", tier="Silver")
    changed = ag.clients.update("upd1", description="after", callback_url="https://x.org/cb")
    assert isinstance(changed, Client)
    assert (changed.description, changed.callback_url, changed.tier) == (
        "after",
        "https://x.org/cb",
        "Silver",
    )
    assert ag.clients.get("upd1") == changed
    assert ag.clients.update("upd1", tier="gold", callback_url="").tier == "Gold"
    assert changed.post_logout_redirect_uri == ""
    logout = ag.clients.update("upd1", post_logout_redirect_uri="https://x.org/bye")
    assert logout.post_logout_redirect_uri == "https://x.org/bye"
    assert ag.clients.get("upd1").callback_url == ""
    assert capsys.readouterr().out == ""


def test_update_errors_are_clear(make_agave, user):
    ag = make_agave(user)
    ag.clients.create("upd2")
    with pytest.raises(BadRequestError, match="nothing to change"):
        ag.clients.update("upd2")
    with pytest.raises(BadRequestError, match="invalid tier 'Platinum'"):
        ag.clients.update("upd2", tier="Platinum")
    with pytest.raises(BadRequestError) as err:
        ag.clients.update("upd2", callback_url="https://x.org/cb#frag")
    assert err.value.status == 400 and "callbackUrl" in str(err.value)
    assert "fragment" in str(err.value)
    with pytest.raises(NotFoundError):
        ag.clients.update("nosuch", description="x")


def read(path):
    return json.loads(path.read_text())


def test_reset_secret_of_the_session_client_updates_the_saved_session(make_agave, user, cache_dir):
    ag = make_agave(user)
    ag.clients_create("mine", "")
    ag.get_access_token()
    old_key, old_secret, old_token = ag.api_key, ag.api_secret, ag.token
    client = ag.clients_reset_secret()  # no name: the session's client
    assert client.consumer_key == old_key and client.consumer_secret != old_secret
    assert ag.api_secret == client.consumer_secret
    assert ag.token is None  # the server revoked it; the session does not keep it
    current = read(cache_dir / "current")
    assert (current["apikey"], current["apisecret"]) == (old_key, client.consumer_secret)
    assert current["access_token"] == "" and current["refresh_token"] == ""
    saved = read(cache_dir / "config.json")["sessions"]["sd2e"][user.username]["mine"]
    assert saved["apisecret"] == client.consumer_secret
    # Another process that restores the session can get a token with the new secret.
    again = Agave.restore(cache_dir=cache_dir, password=user.password, prompt=False)
    again.get_access_token()
    assert again.profile().username == user.username
    again.close()
    # The old token is dead on the server, not only forgotten here.
    ag.token, ag.refresh_token, ag.expires_in, ag.created_at = old_token, "", 14400, 10**10
    with pytest.raises(TokenExpiredError):
        ag.profile()  # 401, then no refresh token to refresh with


def test_reset_secret_of_another_client_leaves_the_session_alone(make_agave, user, cache_dir):
    ag = make_agave(user)
    ag.clients.create("other")
    ag.clients_create("current_one", "")
    ag.get_access_token()
    before = read(cache_dir / "current")
    other = ag.clients_reset_secret("other")
    assert other.consumer_secret and other.consumer_secret != ag.api_secret
    assert read(cache_dir / "current") == before
    assert ag.profile().username == user.username
    # The new secret works for that client, the old one (we never had it here) is gone.
    from agavepy.token import Token

    with Token(ag.base_url(), other.consumer_key, other.consumer_secret) as token:
        assert token.create(user.username, user.password).access_token
    with (
        Token(ag.base_url(), other.consumer_key, "wrong") as token,
        pytest.raises(AuthenticationError),
    ):
        token.create(user.username, user.password)


def test_seed_style_update_uses_the_session_client(make_agave, user):
    ag = make_agave(user)
    with pytest.raises(NoClientError):
        ag.clients_update(description="x")
    ag.clients_create("seedupd", "old")
    changed = ag.clients_update(description="new", tier="bronze")
    assert (changed.name, changed.description, changed.tier) == ("seedupd", "new", "Bronze")
    assert "new" in repr(ag.clients_list())
