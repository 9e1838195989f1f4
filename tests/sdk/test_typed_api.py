"""The typed lower layer against the real server: records in, records out, no printing."""

from __future__ import annotations

import pytest

from agavepy.errors import (
    AuthenticationError,
    BadRequestError,
    ConflictError,
    NetworkError,
    NotFoundError,
)
from agavepy.models import Client, Subscription
from agavepy.wire import DEFAULT_API_NAMES
from tests.sdk.conftest import scan_for
from tests.support.server import free_port

CATALOGUE = list(DEFAULT_API_NAMES)


def test_create_list_get_delete(make_agave, user, capsys):
    ag = make_agave(user)
    created = ag.clients.create("typed1", "first", tier="gold", callback_url="http://cb")
    assert isinstance(created, Client)
    assert created.consumer_key and created.consumer_secret
    assert (created.name, created.description, created.tier) == ("typed1", "first", "Gold")
    ag.clients.create("typed2")
    listed = ag.clients.list()
    assert sorted(c.name for c in listed) == ["typed1", "typed2"]
    assert all(c.consumer_secret is None for c in listed)
    assert ag.clients.get("typed1").consumer_key == created.consumer_key
    assert len(ag.clients.list(limit=1)) == 1
    assert [c.name for c in ag.clients.list(limit=1, offset=1)] != [
        c.name for c in ag.clients.list(limit=1)
    ]
    ag.clients.delete("typed1")
    with pytest.raises(NotFoundError) as err:
        ag.clients.get("typed1")
    assert err.value.status == 404
    assert capsys.readouterr().out == ""


def test_subscriptions_subscribe_unsubscribe(make_agave, user):
    ag = make_agave(user)
    ag.clients.create("subs1")
    subs = ag.clients.subscriptions("subs1")
    assert [s.api_name for s in subs] == CATALOGUE
    assert all(isinstance(s, Subscription) and s.api_version == "v2" for s in subs)
    assert subs[0].api_context == "/apps/v2"
    ag.clients.unsubscribe("subs1", "Jobs", "v2", "admin")
    assert "Jobs" not in [s.api_name for s in ag.clients.subscriptions("subs1")]
    added = ag.clients.subscribe("subs1", "Jobs")
    assert [s.api_name for s in added] == ["Jobs"]
    ag.clients.unsubscribe("subs1", "*")
    assert list(ag.clients.subscriptions("subs1")) == []
    assert len(ag.clients.subscribe("subs1", "*")) == len(CATALOGUE)
    with pytest.raises(BadRequestError) as err:
        ag.clients.subscribe("subs1", "NoSuchApi")
    assert err.value.status == 400


def test_conflict_and_bad_names(make_agave, user):
    ag = make_agave(user)
    ag.clients.create("dup")
    with pytest.raises(ConflictError) as err:
        ag.clients.create("dup")
    assert err.value.status == 409 and "dup" in str(err.value)
    with pytest.raises(BadRequestError, match="invalid client name 'has space'") as err:
        ag.clients.create("has space")
    assert err.value.status is None  # refused before anything was sent
    with pytest.raises(BadRequestError, match="invalid tier 'Platinum'"):
        ag.clients.create("ok", tier="Platinum")


def test_wrong_password_is_authentication_error_without_the_password(make_agave, new_user):
    user = new_user()
    user.password = "definitely-wrong-" + user.password
    ag = make_agave(user)
    with pytest.raises(AuthenticationError) as err:
        ag.clients.list()
    assert err.value.status == 401
    assert user.password not in str(err.value) and user.password not in repr(err.value)


def test_tenants(make_agave, user, server):
    ag = make_agave(user)
    tenants = ag.tenants.list(server.tenants_url)
    assert "sd2e" in tenants.codes()
    assert ag.tenants.get("sd2e", server.tenants_url).base_url == server.base_url + "/"
    with pytest.raises(NotFoundError):
        ag.tenants.get("nope", server.tenants_url)


def test_unreachable_server_is_network_error(make_agave, user, server):
    from agavepy.agave import Agave

    ag = Agave(
        api_server=f"http://127.0.0.1:{free_port()}",
        tenant_id="sd2e",
        username="u",
        password="p",
        prompt=False,
        timeout=5,
    )
    with pytest.raises(NetworkError, match="cannot reach") as err:
        ag.clients.list()
    assert "p" not in str(err.value).split("cannot reach")[0]
    ag.close()


def test_password_never_written(make_agave, user, cache_dir):
    ag = make_agave(user)
    ag.clients_create("pwcheck", "d")
    ag.get_access_token()
    ag.tokens.refresh(force=True)
    assert (cache_dir / "current").exists()
    assert scan_for(cache_dir, user.password) == []


def test_throttled_logins_are_rate_limited_with_retry_after(make_server, tmp_path):
    from agavepy.agave import Agave
    from agavepy.errors import RateLimitedError

    srv = make_server(env={"AGAVE_SERVER_LOGIN_MAX_FAILURES": "2"})
    srv.add_user("throttled", "pw-right-one")
    ag = Agave(
        api_server=srv.base_url,
        tenant_id="sd2e",
        username="throttled",
        password="pw-wrong-one",
        prompt=False,
        cache_dir=tmp_path / "c",
    )
    raised = []
    for _ in range(4):
        try:
            ag.clients.list()
        except (AuthenticationError, RateLimitedError) as err:
            raised.append(err)
    assert isinstance(raised[0], AuthenticationError)
    assert isinstance(raised[-1], RateLimitedError)
    assert raised[-1].status == 429 and raised[-1].retry_after and raised[-1].retry_after > 0
    assert "try again" in str(raised[-1]) and "pw-wrong-one" not in str(raised[-1])
    ag.close()


def test_wrong_password_on_the_token_endpoint(make_agave, user):
    ag = make_agave(user)
    ag.clients_create("tokpw", "")
    with pytest.raises(AuthenticationError, match="wrong username or password") as err:
        ag.tokens.create(password="Zq9-not-the-password")
    assert "Zq9-not-the-password" not in str(err.value) + repr(err.value)


def test_list_pages_without_an_extra_request_for_a_full_last_page(make_agave, user, monkeypatch):
    """Pages ask for one more than they keep: a full last page needs no empty follow-up."""
    import agavepy._api

    monkeypatch.setattr(agavepy._api, "PAGE", 3)
    ag = make_agave(user)
    sent: list[str] = []
    ag.transport.client.event_hooks["request"].append(
        lambda request: sent.append(str(request.url.params))
    )
    names = [f"pg{i}" for i in range(7)]
    for name in names[:3]:
        ag.clients.create(name)
    sent.clear()
    assert sorted(c.name for c in ag.clients.list()) == names[:3]
    assert sent == ["limit=4&offset=0"]
    for name in names[3:]:
        ag.clients.create(name)
    sent.clear()
    assert sorted(c.name for c in ag.clients.list()) == names
    assert sent == ["limit=4&offset=0", "limit=4&offset=3", "limit=4&offset=6"]
    sent.clear()
    assert len(ag.clients.list(limit=5)) == 5
    assert sent == ["limit=4&offset=0", "limit=2&offset=3"]
    sent.clear()
    assert [c.name for c in ag.clients.list(limit=6, offset=1)] == [
        c.name for c in ag.clients.list()
    ][1:7]
