"""Typed records: wire keys in and out, tolerant reading, expiry arithmetic."""

from __future__ import annotations

import time
from datetime import timezone

from agavepy.models import Client, Profile, Subscription, Tenant, TokenPair


def test_client_round_trip_and_secret_hidden_from_repr():
    wire = {
        "name": "c1",
        "description": "",
        "consumerKey": "K",
        "tier": "Unlimited",
        "callbackUrl": "",
        "consumerSecret": "S3CRET",
        "_links": {},
    }
    client = Client.from_json(wire)
    assert client.consumer_secret == "S3CRET"
    assert "S3CRET" not in repr(client)
    assert client.to_json() == {k: v for k, v in wire.items() if k != "_links"}
    assert "consumerSecret" not in Client.from_json({"name": "c2"}).to_json()


def test_subscription_and_tenant_round_trip():
    sub = {
        "apiName": "Apps",
        "apiVersion": "v2",
        "apiProvider": "admin",
        "apiContext": "/apps/v2",
        "apiStatus": "PUBLISHED",
        "tier": "Unlimited",
    }
    assert Subscription.from_json(sub).to_json() == sub
    tenant = {"id": "x1", "code": "sd2e", "name": "SD2E Tenant", "baseUrl": "http://h/"}
    assert Tenant.from_json(tenant).to_json() == tenant


def test_token_pair_accepts_strings_and_knows_its_expiry():
    now = int(time.time())
    pair = TokenPair.from_json(
        {
            "access_token": "AT123",
            "refresh_token": "RT456",
            "expires_in": "14400",
            "created_at": str(now),
        }
    )
    assert pair.expires_in == 14400 and pair.created_at == now
    assert pair.expires_at.tzinfo == timezone.utc
    assert pair.expires_at.timestamp() == now + 14400
    assert not pair.is_expired()
    assert pair.is_expired(leeway=14400)
    assert "AT123" not in repr(pair) and "RT456" not in repr(pair)


def test_expired_pair():
    pair = TokenPair("a", "r", expires_in=10, created_at=int(time.time()) - 11)
    assert pair.is_expired()
    assert pair.seconds_left() < 0


def test_profile_keeps_unknown_fields():
    data = {
        "username": "u",
        "email": "e@x",
        "first_name": "F",
        "last_name": "L",
        "phone": "123",
        "_links": {"self": {}},
    }
    profile = Profile.from_json(data)
    assert profile.extra == {"phone": "123"}
    assert profile.to_json()["phone"] == "123"
