"""Driving the authorization code flow: Authlib's client builds the requests and exchanges
the code; a person signs in and answers the consent page in Chromium."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import OAuth2Client

from tests.conftest import User
from tests.support.server import ServerProcess


@dataclass
class RegisteredClient:
    name: str
    key: str
    secret: str
    callback: str


def register_client(
    server: ServerProcess, owner: User, callback: str, **fields
) -> RegisteredClient:
    name = "app" + secrets.token_hex(4)
    with server.client() as http:
        r = http.post(
            "/clients/v2",
            data={"clientName": name, "callbackUrl": callback, **fields},
            auth=owner.auth,
        )
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    return RegisteredClient(name, result["consumerKey"], result["consumerSecret"], callback)


def oauth_client(
    client: RegisteredClient, scope: str = "openid profile email", **kw
) -> OAuth2Client:
    kw.setdefault("redirect_uri", client.callback)
    return OAuth2Client(
        client.key, client.secret, scope=scope, code_challenge_method="S256", timeout=30, **kw
    )


@dataclass
class Authorization:
    url: str
    state: str
    verifier: str


def start(oc: OAuth2Client, issuer: str, **params) -> Authorization:
    verifier = generate_token(48)
    url, state = oc.create_authorization_url(
        issuer + "/oauth2/authorize", code_verifier=verifier, **params
    )
    return Authorization(url, state, verifier)


def sign_in_if_asked(tab, user: User) -> None:
    if tab.get_by_label("Password").count():
        tab.get_by_label("Username").fill(user.username)
        tab.get_by_label("Password").fill(user.password)
        tab.get_by_role("button", name="Sign in").click()
        tab.wait_for_load_state()


def answer_consent(tab, decision: str = "Allow") -> None:
    tab.get_by_role("button", name=decision, exact=True).click()


def token_request(server: ServerProcess, client: RegisteredClient, **data) -> httpx.Response:
    with server.client() as http:
        return http.post("/token", data=data, auth=(client.key, client.secret))


def bearer_me(server: ServerProcess, access_token: str) -> httpx.Response:
    with server.client() as http:
        return http.get("/profiles/v2/me", headers={"Authorization": f"Bearer {access_token}"})


class _NoFramework:
    """Authlib's framework integrations store refreshed tokens through this; tests keep
    tokens themselves."""

    def update_token(self, *args, **kwargs) -> None:
        pass


def relying_party(issuer: str, client: RegisteredClient, scope: str = "openid profile email"):
    """Authlib's own web-app client (the classes its Flask, Django and Starlette clients are
    made of), configured from the discovery document alone: ``server_metadata_url``."""
    from authlib.integrations.base_client import BaseApp, OAuth2Mixin, OpenIDMixin

    class RelyingParty(OAuth2Mixin, OpenIDMixin, BaseApp):
        client_cls = OAuth2Client

    return RelyingParty(
        _NoFramework(),
        name="agave",
        client_id=client.key,
        client_secret=client.secret,
        server_metadata_url=issuer + "/.well-known/openid-configuration",
        client_kwargs={"scope": scope, "code_challenge_method": "S256", "timeout": 30},
    )
