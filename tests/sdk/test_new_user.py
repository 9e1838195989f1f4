"""SDK fixes of issue 16: testing one's own code with ``httpx.MockTransport``, the typed
layer's protocol, and what ``clients_delete`` leaves behind."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import httpx
import pytest

from agavepy import _api
from agavepy.agave import Agave
from agavepy.errors import InvalidClientError
from agavepy.token import Token

TENANTS_URL = "https://tenants.example.test/tenants"
BASE = "https://api.example.test"


class FakeTenant:
    """What a user's own test would write: an Agave tenant in a handler function."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        if path == "/tenants":
            tenant = {"id": "1", "code": "sd2e", "name": "SD2E", "baseUrl": BASE + "/"}
            return httpx.Response(200, json={"status": "success", "result": [tenant]})
        if path == "/clients/v2" and request.method == "POST":
            client = {
                "name": "mine",
                "description": "",
                "consumerKey": "KEY",
                "consumerSecret": "SECRET",
                "tier": "Unlimited",
                "callbackUrl": "",
                "_links": {},
            }
            return httpx.Response(201, json={"status": "success", "result": client})
        if path == "/token":
            body = {"access_token": "AT", "refresh_token": "RT", "expires_in": 14400}
            return httpx.Response(200, json={**body, "token_type": "bearer"})
        if path == "/profiles/v2/me":
            return httpx.Response(200, json={"status": "success", "result": {"username": "bob"}})
        return httpx.Response(404, json={"status": "error", "message": "no", "result": None})


def basic(request: httpx.Request) -> str:
    scheme, _, value = request.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    return base64.b64decode(value).decode()


def test_agave_sends_through_an_httpx_transport(tmp_path: Path):
    fake = FakeTenant()
    with Agave(
        tenant_id="sd2e",
        username="bob",
        password="bob-password",
        tenants_url=TENANTS_URL,
        cache_dir=tmp_path,
        prompt=False,
        transport=httpx.MockTransport(fake),
    ) as ag:
        ag.init()
        ag.clients_create("mine", "")
        ag.get_access_token()
        assert ag.profile().username == "bob"
        assert (ag.api_key, ag.api_secret, ag.token) == ("KEY", "SECRET", "AT")
    sent = [(r.method, str(r.url).split("?")[0]) for r in fake.requests]
    assert sent == [
        ("GET", TENANTS_URL),
        ("POST", BASE + "/clients/v2"),
        # Where the token endpoint is: the tenant's discovery document (this fake has none,
        # so the Agave path is used).
        ("GET", BASE + "/.well-known/openid-configuration"),
        ("POST", BASE + "/token"),
        ("GET", BASE + "/profiles/v2/me"),
    ]
    assert basic(fake.requests[1]) == "bob:bob-password"
    assert basic(fake.requests[3]) == "KEY:SECRET"
    assert fake.requests[4].headers["Authorization"] == "Bearer AT"
    assert json.loads((tmp_path / "current").read_text())["access_token"] == "AT"


def test_token_takes_a_transport_too():
    fake = FakeTenant()
    token = Token(BASE, "KEY", "SECRET", transport=httpx.MockTransport(fake))
    assert token.create("bob", "bob-password").access_token == "AT"
    assert basic(fake.requests[0]) == "KEY:SECRET"


def test_errors_from_a_mock_transport_map_as_from_a_server(tmp_path: Path):
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"error": "invalid_client"})

    ag = Agave(
        api_server=BASE,
        tenant_id="sd2e",
        username="bob",
        password="pw",
        api_key="KEY",
        api_secret="OLD",
        cache_dir=tmp_path,
        prompt=False,
        transport=httpx.MockTransport(refuse),
    )
    with pytest.raises(InvalidClientError) as caught:
        ag.get_access_token()
    assert "the client's key and secret were refused" in str(caught.value)
    assert "may have been deleted" in str(caught.value)


def test_a_wrong_transport_is_a_clear_type_error():
    with pytest.raises(TypeError, match=r"transport= must be an httpx transport.*not str"):
        Agave(transport="http://127.0.0.1:8000")


def test_the_typed_layer_needs_only_the_protocol():
    """Any SessionContext serves the typed layer; it does not know the Agave class."""
    from agavepy._transport import Transport

    fake = FakeTenant()

    class Context:
        transport = Transport(http_transport=httpx.MockTransport(fake))

        def resolved_tenants_url(self, tenants_url=None):
            return TENANTS_URL

        def base_url(self):
            return BASE

        def credentials(self, username=None, password=None, ask_username=False):
            return ("carol", "carol-password")

        def user_auth(self, ask_username=False):
            return self.credentials(ask_username=ask_username)

    ctx: _api.SessionContext = Context()  # type: ignore[assignment]
    assert _api.TenantsAPI(ctx).list().codes() == ["sd2e"]
    assert _api.ClientsAPI(ctx).create("mine").consumer_secret == "SECRET"
    assert basic(fake.requests[-1]) == "carol:carol-password"
    assert "agavepy.agave" not in Path(_api.__file__).read_text()


def test_clients_delete_forgets_the_client_name_and_session(make_agave, user):
    ag = make_agave(user)
    ag.clients_create("first", "")
    ag.clients_create("second", "")
    saved = {r.client_name for r in ag.store.sessions()}
    assert saved == {"first", "second"}
    ag.clients_delete("first")  # not this session's client: its saved session goes
    assert {r.client_name for r in ag.store.sessions()} == {"second"}
    assert ag.client_name == "second" and ag.api_key
    ag.clients_delete()  # this session's client: name, key and tokens go too
    assert ag.client_name is None and not ag.api_key and ag.token is None
    assert ag.store.sessions() == []
