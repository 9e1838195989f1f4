"""The printed tables equal the seed's lines, column for column (no server needed)."""

from __future__ import annotations

import pytest

from agavepy.models import Client, Subscription, Tenant
from agavepy.tables import ClientList, SubscriptionList, TenantList, tenants_table
from tests.sdk.seed import SEED_COPY, SHARED_SEED, seed_steps, step


@pytest.mark.skipif(not SHARED_SEED.exists(), reason="no shared seed folder on this machine")
def test_the_projects_copy_of_the_seed_is_the_seed():
    assert SEED_COPY.read_bytes() == SHARED_SEED.read_bytes()


def test_seed_parses_into_the_expected_steps():
    commands = [s.our_command for s in seed_steps()]
    assert commands[0] == "from agavepy.agave import Agave"
    assert 'ag.clients_create("my_super_cool_client", "my client\'s desciption")' in commands
    assert "ag.clients_subscribtions()" in commands


def test_clients_table_matches_the_seed():
    expected = step("ag.clients_list()").output
    header, row = expected[-2], expected[-1]
    name, description = row.split(None, 1)
    table = ClientList([Client(name, description, "key", "Unlimited", "")])
    assert repr(table).splitlines() == [header, row]
    assert str(table) == repr(table)


def test_subscriptions_table_matches_the_seed():
    expected = [
        line for line in step("ag.clients_subscribtions()").output if not line.startswith("API ")
    ]
    subs = SubscriptionList(Subscription(*line.split()) for line in expected)
    assert repr(subs).splitlines() == expected
    assert [s.api_name for s in subs][-1] == "PublicKeys"


def test_long_values_are_not_cut():
    long_name = "n" * 40
    row = repr(ClientList([Client(long_name, "d", "k", "Unlimited", "")])).splitlines()[1]
    assert row == long_name + " d"


def test_empty_lists_render_the_header_only():
    assert repr(ClientList()) == "NAME                           DESCRIPTION"
    assert repr(SubscriptionList()) == ""


def test_tenants_table_is_agavepy_095s():
    tenants = TenantList([Tenant("sd2e", "SD2E Tenant", "http://127.0.0.1:8000/", "1")])
    assert tenants_table(tenants).splitlines() == [
        "ID" + " " * 19 + "NAME" + " " * 37 + "URL",
        "sd2e" + " " * 17 + "SD2E Tenant" + " " * 30 + "http://127.0.0.1:8000/",
    ]
    assert tenants.find("sd2e").name == "SD2E Tenant"
    assert tenants.find("nope") is None
