"""The seed's methods beyond the transcript: defaults, current-client handling, errors."""

from __future__ import annotations

import json

import pytest

from agavepy.agave import Agave
from agavepy.errors import NoClientError, NotFoundError, PermissionDeniedError
from agavepy.tables import ClientList, SubscriptionList


def test_delete_without_name_deletes_the_current_client(make_agave, user, cache_dir):
    ag = make_agave(user)
    with pytest.raises(NoClientError):
        ag.clients_delete()
    ag.clients_create("gone", "soon")
    ag.get_access_token()
    ag.clients_delete()
    assert (ag.api_key, ag.api_secret, ag.token) == ("", "", None)
    assert "gone" not in [c.name for c in ag.clients_list()]
    current = json.loads((cache_dir / "current").read_text())
    assert current["apikey"] == "" and current["access_token"] == ""
    config = json.loads((cache_dir / "config.json").read_text())
    assert "gone" not in config["sessions"]["sd2e"][user.username]
    assert list(config["current"]) == ["gone"]  # agavepy 0.9.5 needs one entry there
    with pytest.raises(NotFoundError):
        ag.clients_delete("gone")


def test_lists_are_typed_and_render_as_tables(make_agave, user):
    ag = make_agave(user)
    ag.clients_create("tbl", "a table")
    clients = ag.clients_list()
    assert isinstance(clients, ClientList) and clients[0].name == "tbl"
    assert repr(clients).splitlines()[1].startswith("tbl" + " " * 28 + "a table")
    subs = ag.clients_subscriptions()
    assert isinstance(subs, SubscriptionList) and len(subs) == 11
    assert ag.clients_subscribtions() == subs


def test_unsubscribe_then_profile_is_forbidden(make_agave, user):
    ag = make_agave(user)
    ag.clients_create("noprof", "")
    ag.get_access_token()
    ag.clients_unsubscribe("Profiles", "v2", "admin")
    assert "Profiles" not in [s.api_name for s in ag.clients_subscriptions()]
    with pytest.raises(PermissionDeniedError, match="clients_subscribe") as err:
        ag.profile()
    assert err.value.status == 403 and err.value.server_message
    ag.clients_subscribe("Profiles", "v2", "admin")
    assert ag.profile().username == user.username


def test_restore_after_create_and_token(make_agave, user, cache_dir):
    ag = make_agave(user)
    ag.clients_create("keep", "")
    ag.get_access_token()
    again = Agave.restore(cache_dir=cache_dir, prompt=False)
    assert (again.client_name, again.api_key, again.token) == ("keep", ag.api_key, ag.token)
    assert again.profile().username == user.username
    again.close()
