"""OpenID Connect end to end: an unmodified Authlib client, configured only with the issuer's
discovery document, signs a person in through Chromium, validates the ID token against the
JWKS, calls userinfo, refreshes, introspects and revokes, on both access-token formats."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import urlencode

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from tests.browser.flows import (
    answer_consent,
    bearer_me,
    register_client,
    relying_party,
    sign_in_if_asked,
)
from tests.browser.relying_party import Callback


@pytest.fixture(scope="module")
def rp_callback() -> Iterator[Callback]:
    cb = Callback()
    yield cb
    cb.close()


def _sign_in_with_openid(page, web_server, rp_callback, client, person, **params):
    app = relying_party(web_server.base_url, client)
    start = app.create_authorization_url(redirect_uri=client.callback, **params)
    before = len(rp_callback.hits)
    page.goto(start["url"])
    sign_in_if_asked(page, person)
    if page.get_by_role("button", name="Allow").count():
        page.shot("consent-openid")
        answer_consent(page, "Allow")
    callback = rp_callback.wait(before + 1)
    got = rp_callback.params(callback)
    assert got["state"] == start["state"]
    token = app.fetch_access_token(
        redirect_uri=client.callback, code=got["code"], code_verifier=start["code_verifier"]
    )
    return app, start, token


def _introspect(web_server, client, token: str) -> dict:
    with web_server.client() as http:
        r = http.post("/oauth2/introspect", data={"token": token}, auth=(client.key, client.secret))
    assert r.status_code == 200, r.text
    return r.json()


def test_discovery_document(web_server) -> None:
    doc = httpx.get(web_server.base_url + "/.well-known/openid-configuration").json()
    issuer = web_server.base_url
    assert doc["issuer"] == issuer
    assert doc["authorization_endpoint"] == issuer + "/oauth2/authorize"
    assert doc["userinfo_endpoint"] == issuer + "/oauth2/userinfo"
    assert doc["end_session_endpoint"] == issuer + "/oauth2/logout"
    assert doc["code_challenge_methods_supported"] == ["S256"]
    assert doc["response_types_supported"] == ["code"]
    assert "authorization_code" in doc["grant_types_supported"]
    assert {"openid", "profile", "email"} <= set(doc["scopes_supported"])
    assert {"sub", "email", "preferred_username", "nonce"} <= set(doc["claims_supported"])
    assert doc["id_token_signing_alg_values_supported"] == ["RS256"]
    assert doc["subject_types_supported"] == ["public"]


@pytest.mark.parametrize("token_format", ["opaque", "jwt"])
def test_openid_connect_with_authlib(web_server, web_user, rp_callback, page, token_format) -> None:
    web_server.admin("tenants", "update", "sd2e", "--access-token-format", token_format)
    owner = web_user()
    person = web_user(email="grace@example.org", first_name="Grace", last_name="Hopper")
    client = register_client(web_server, owner, rp_callback.url)
    app, start, token = _sign_in_with_openid(page, web_server, rp_callback, client, person)
    assert token["token_type"].lower() == "bearer"
    assert {"access_token", "refresh_token", "id_token"} <= set(token)
    if token_format == "jwt":
        assert token["access_token"].count(".") == 2
    else:
        assert token["access_token"].isalnum()

    # The ID token, validated by Authlib against the JWKS from the discovery document.
    claims = app.parse_id_token(token, nonce=start["nonce"])
    assert claims["iss"] == web_server.base_url
    assert claims["sub"] == person.username
    assert claims["aud"] == client.key
    assert claims["email"] == "grace@example.org"
    assert claims["name"] == "Grace Hopper"
    assert claims["nonce"] == start["nonce"]
    assert claims["at_hash"] and claims["auth_time"] <= claims["iat"] < claims["exp"]
    keys = KeySet.import_key_set(httpx.get(app.load_server_metadata()["jwks_uri"]).json())
    header = jwt.decode(token["id_token"], keys, algorithms=["RS256"]).header
    assert header["typ"] == "JWT" and header["kid"]

    userinfo = app.userinfo(token=token)
    assert userinfo["sub"] == person.username and userinfo["email"] == "grace@example.org"
    assert bearer_me(web_server, token["access_token"]).status_code == 200

    # An ID token is not an access token.
    assert bearer_me(web_server, token["id_token"]).status_code == 401

    info = _introspect(web_server, client, token["access_token"])
    assert info["active"] is True and info["username"] == person.username
    assert info["client_id"] == client.key

    with app._get_oauth_client(**app.load_server_metadata()) as session:
        refreshed = session.refresh_token(
            app.load_server_metadata()["token_endpoint"], refresh_token=token["refresh_token"]
        )
    assert refreshed["access_token"] != token["access_token"]
    assert "openid" in refreshed["scope"].split()
    assert app.userinfo(token=refreshed)["sub"] == person.username
    assert _introspect(web_server, client, token["access_token"])["active"] is False

    with web_server.client() as http:
        r = http.post(
            app.load_server_metadata()["revocation_endpoint"],
            data={"token": refreshed["refresh_token"], "token_type_hint": "refresh_token"},
            auth=(client.key, client.secret),
        )
    assert r.status_code == 200
    assert _introspect(web_server, client, refreshed["access_token"])["active"] is False
    assert bearer_me(web_server, refreshed["access_token"]).status_code == 401
    web_server.admin("tenants", "update", "sd2e", "--access-token-format", "opaque")


def test_userinfo_refuses_tokens_without_openid(web_server, web_user, rp_callback, page) -> None:
    owner = web_user()
    client = register_client(web_server, owner, rp_callback.url)
    app = relying_party(web_server.base_url, client, scope="profile")
    start = app.create_authorization_url(redirect_uri=client.callback)
    page.goto(start["url"])
    sign_in_if_asked(page, owner)
    answer_consent(page, "Allow")
    got = rp_callback.params(rp_callback.wait(len(rp_callback.hits)))
    token = app.fetch_access_token(
        redirect_uri=client.callback, code=got["code"], code_verifier=start["code_verifier"]
    )
    assert "id_token" not in token
    r = httpx.get(
        web_server.base_url + "/oauth2/userinfo",
        headers={"Authorization": f"Bearer {token['access_token']}"},
    )
    assert r.status_code == 403 and 'error="insufficient_scope"' in r.headers["www-authenticate"]
    r = httpx.get(web_server.base_url + "/oauth2/userinfo", headers={"Authorization": "Bearer x"})
    assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"]


def test_rp_initiated_logout(web_server, web_user, rp_callback, page) -> None:
    owner = web_user()
    client = register_client(web_server, owner, rp_callback.url)
    after = rp_callback.origin + "/cb/signed-out"
    with web_server.client() as http:
        r = http.put(
            f"/clients/v2/{client.name}",
            data={"postLogoutRedirectUri": after},
            auth=owner.auth,
        )
    assert r.status_code == 200, r.text
    app, _start, token = _sign_in_with_openid(page, web_server, rp_callback, client, owner)
    logout = app.create_logout_url(
        post_logout_redirect_uri=after, id_token_hint=token["id_token"], state="bye"
    )
    before = len(rp_callback.hits)
    page.goto(logout["url"])
    back = rp_callback.params(rp_callback.wait(before + 1))
    assert back == {"state": "bye"}
    page.goto(web_server.base_url + "/login")
    assert page.get_by_label("Password").count() == 1  # signed out
    # Without a hint (client_id instead) the person confirms, then goes back to the client:
    # the confirmation page's CSP lets its form's redirect reach the client's origin.
    _sign_in_with_openid(page, web_server, rp_callback, client, owner)
    before = len(rp_callback.hits)
    page.goto(
        web_server.base_url
        + "/oauth2/logout?"
        + urlencode({"client_id": client.key, "post_logout_redirect_uri": after, "state": "b2"})
    )
    page.get_by_role("heading", name="Sign out?").wait_for()
    page.get_by_role("button", name="Sign out", exact=True).last.click()
    assert rp_callback.params(rp_callback.wait(before + 1)) == {"state": "b2"}
    # An unregistered post_logout_redirect_uri: an error page, no redirect.
    r = httpx.get(
        web_server.base_url + "/oauth2/logout",
        params={
            "id_token_hint": token["id_token"],
            "post_logout_redirect_uri": "https://evil.example/",
        },
    )
    assert r.status_code == 400 and "location" not in r.headers
    assert "text/html" in r.headers["content-type"]
    # An access token is not an id_token_hint.
    r = httpx.get(
        web_server.base_url + "/oauth2/logout", params={"id_token_hint": token["access_token"]}
    )
    assert r.status_code == 400


def test_logout_without_hint_asks_first(web_server, web_user, page) -> None:
    from tests.browser.conftest import sign_in

    user = web_user()
    sign_in(page, web_server.base_url, user)
    page.goto(web_server.base_url + "/oauth2/logout")
    page.get_by_role("heading", name="Sign out?").wait_for()
    page.shot("logout-confirm")
    page.get_by_role("button", name="Sign out", exact=True).last.click()
    page.get_by_role("heading", name="Signed out").wait_for()
    page.goto(web_server.base_url + "/login")
    assert page.get_by_label("Password").count() == 1
