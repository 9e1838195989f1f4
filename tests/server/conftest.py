"""Helpers for the server tests: clients and token pairs made over HTTP, like users do."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from tests.conftest import User


@dataclass
class OAuthClient:
    name: str
    key: str
    secret: str
    owner: User

    @property
    def auth(self) -> tuple[str, str]:
        return (self.key, self.secret)


def create_client(http: httpx.Client, user: User, name: str | None = None, **fields) -> OAuthClient:
    name = name or "c" + secrets.token_hex(4)
    r = http.post("/clients/v2", data={"clientName": name, **fields}, auth=user.auth)
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    return OAuthClient(name, result["consumerKey"], result["consumerSecret"], user)


def password_token(http: httpx.Client, client: OAuthClient, user: User | None = None) -> dict:
    user = user or client.owner
    r = http.post(
        "/token",
        data={
            "grant_type": "password",
            "username": user.username,
            "password": user.password,
            "scope": "PRODUCTION",
        },
        auth=client.auth,
    )
    assert r.status_code == 200, r.text
    return r.json()


def refresh(http: httpx.Client, client: OAuthClient, refresh_token: str) -> httpx.Response:
    return http.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": "PRODUCTION"},
        auth=client.auth,
    )


def me(http: httpx.Client, access_token: str) -> httpx.Response:
    return http.get("/profiles/v2/me", headers={"Authorization": f"Bearer {access_token}"})


@pytest.fixture
def new_client(http: httpx.Client) -> Callable[..., OAuthClient]:
    def _new(user: User, name: str | None = None, **fields) -> OAuthClient:
        return create_client(http, user, name, **fields)

    return _new
