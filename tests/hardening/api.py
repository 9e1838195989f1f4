"""Small HTTP helpers the hardening tests share: the Agave wire calls by name.

They speak only the wire contract (docs/AGAVE_WIRE.md) and assert only that a call
which must succeed did succeed, so each test states its own expectations about
failures. Nothing here knows the server's internals.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

import httpx

from tests.conftest import User


@dataclass
class OAuthClient:
    """A client as its owner sees it right after creating it."""

    name: str
    key: str
    secret: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.key, self.secret)


@dataclass
class TokenPair:
    access: str
    refresh: str


def client_name(prefix: str = "c") -> str:
    """A fresh name inside the documented pattern ``[A-Za-z0-9_.-]{1,64}``."""
    return f"{prefix}-{secrets.token_hex(6)}"


def create_client(http: httpx.Client, user: User, name: str | None = None) -> OAuthClient:
    name = name or client_name()
    res = http.post("/clients/v2", auth=user.auth, data={"clientName": name})
    assert res.status_code == 201, (res.status_code, res.text)
    result = res.json()["result"]
    return OAuthClient(name, result["consumerKey"], result["consumerSecret"])


def password_grant(http: httpx.Client, client: OAuthClient, user: User) -> httpx.Response:
    return http.post(
        "/token",
        auth=client.auth,
        data={
            "grant_type": "password",
            "username": user.username,
            "password": user.password,
            "scope": "PRODUCTION",
        },
    )


def refresh_grant(http: httpx.Client, client: OAuthClient, refresh_token: str) -> httpx.Response:
    return http.post(
        "/token",
        auth=client.auth,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": "PRODUCTION"},
    )


def pair_of(res: httpx.Response) -> TokenPair:
    assert res.status_code == 200, (res.status_code, res.text)
    body = res.json()
    return TokenPair(body["access_token"], body["refresh_token"])


def login(http: httpx.Client, client: OAuthClient, user: User) -> TokenPair:
    return pair_of(password_grant(http, client, user))


def profile(http: httpx.Client, access_token: str) -> httpx.Response:
    return http.get("/profiles/v2/me", headers={"Authorization": f"Bearer {access_token}"})


def token_works(http: httpx.Client, access_token: str) -> bool:
    """True if the access token is accepted by the protected resource."""
    res = profile(http, access_token)
    assert res.status_code in (200, 401), (res.status_code, res.text)
    return res.status_code == 200


def error_message(res: httpx.Response) -> str:
    """The human text of any error body: envelope message, RFC 6749 or WSO2 fault."""
    body = res.json()
    if "fault" in body:
        return f"{body['fault'].get('message', '')} {body['fault'].get('description', '')}"
    if "error" in body and "status" not in body:
        return f"{body.get('error', '')} {body.get('error_description', '')}"
    assert body.get("status") == "error", body
    assert body.get("result") is None, body
    return str(body.get("message", ""))
