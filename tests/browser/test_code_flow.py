"""The authorization code flow with PKCE, driven by Authlib's client and a person in Chromium."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.browser.conftest import csrf_of
from tests.browser.flows import (
    answer_consent,
    bearer_me,
    oauth_client,
    register_client,
    sign_in_if_asked,
    start,
    token_request,
)
from tests.browser.relying_party import Callback


@pytest.fixture(scope="module")
def rp() -> Iterator[Callback]:
    cb = Callback()
    yield cb
    cb.close()


def _authorize(page, web_server, rp, client, user, scope="profile email", **params):
    """Through the pages to the callback; returns (Authlib client, authorization, callback URL)."""
    oc = oauth_client(client, scope=scope)
    auth = start(oc, web_server.base_url, **params)
    before = len(rp.hits)
    page.goto(auth.url)
    sign_in_if_asked(page, user)
    if page.get_by_role("button", name="Allow").count():
        answer_consent(page, "Allow")
    return oc, auth, rp.wait(before + 1)


def test_code_flow_with_pkce_then_refresh_and_revoke(web_server, web_user, rp, page) -> None:
    owner, person = web_user(), web_user(first_name="Ada", last_name="Lovelace")
    client = register_client(web_server, owner, rp.url)
    oc = oauth_client(client, scope="profile email")
    auth = start(oc, web_server.base_url)
    page.goto(auth.url)
    assert page.title().startswith("Sign in")
    page.shot("login-for-authorization")
    sign_in_if_asked(page, person)
    page.get_by_role("heading", name=f"Allow {client.name}?").wait_for()
    page.shot("consent")
    text = page.locator("main").inner_text()
    assert "see your name" in text and "see your email address" in text
    answer_consent(page, "Allow")
    callback = rp.wait(len(rp.hits))
    assert rp.params(callback)["state"] == auth.state
    token = oc.fetch_token(
        web_server.base_url + "/token",
        authorization_response=callback,
        code_verifier=auth.verifier,
    )
    assert token["scope"] == "profile email" and token["refresh_token"]
    me = bearer_me(web_server, token["access_token"])
    assert me.status_code == 200 and me.json()["result"]["username"] == person.username
    refreshed = oc.refresh_token(web_server.base_url + "/token")
    assert refreshed["access_token"] != token["access_token"]
    assert refreshed["scope"] == "profile email"
    assert bearer_me(web_server, token["access_token"]).status_code == 401  # rotated
    oc.revoke_token(web_server.base_url + "/revoke", refreshed["refresh_token"])
    assert bearer_me(web_server, refreshed["access_token"]).status_code == 401


def test_client_secret_post_at_the_token_endpoint(web_server, web_user, rp, page) -> None:
    owner = web_user()
    client = register_client(web_server, owner, rp.url)
    oc, auth, callback = _authorize(page, web_server, rp, client, owner)
    oc.token_endpoint_auth_method = "client_secret_post"
    token = oc.fetch_token(
        web_server.base_url + "/token", authorization_response=callback, code_verifier=auth.verifier
    )
    assert bearer_me(web_server, token["access_token"]).status_code == 200


def test_wrong_verifier_then_replay(web_server, web_user, rp, page) -> None:
    owner = web_user()
    client = register_client(web_server, owner, rp.url)
    _oc, auth, callback = _authorize(page, web_server, rp, client, owner)
    code = rp.params(callback)["code"]
    exchange = {"grant_type": "authorization_code", "code": code, "redirect_uri": client.callback}
    wrong = token_request(web_server, client, **exchange, code_verifier="w" * 50)
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    missing = token_request(web_server, client, **exchange)
    assert missing.status_code == 400 and "code_verifier" in missing.json()["error_description"]
    first = token_request(web_server, client, **exchange, code_verifier=auth.verifier)
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert bearer_me(web_server, tokens["access_token"]).status_code == 200
    replay = token_request(web_server, client, **exchange, code_verifier=auth.verifier)
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    assert "already used" in replay.json()["error_description"]
    # The replay revoked what the first exchange issued.
    assert bearer_me(web_server, tokens["access_token"]).status_code == 401
    refresh = token_request(
        web_server, client, grant_type="refresh_token", refresh_token=tokens["refresh_token"]
    )
    assert refresh.status_code == 400


def test_code_is_bound_to_client_and_redirect_uri(web_server, web_user, rp, page) -> None:
    owner = web_user()
    client = register_client(web_server, owner, rp.url)
    other = register_client(web_server, owner, rp.url)
    _oc, auth, callback = _authorize(page, web_server, rp, client, owner)
    code = rp.params(callback)["code"]
    base = {"grant_type": "authorization_code", "code": code, "code_verifier": auth.verifier}
    r = token_request(web_server, other, **base, redirect_uri=client.callback)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = token_request(web_server, client, **base, redirect_uri=rp.origin + "/other")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = token_request(web_server, client, **base, redirect_uri=client.callback)
    assert r.status_code == 200, r.text


def test_unregistered_redirect_uri_is_an_error_page(web_server, web_user, rp, page) -> None:
    owner = web_user()
    client = register_client(web_server, owner, rp.url)
    hits = len(rp.hits)
    bad_uris = [
        rp.origin + "/elsewhere",
        f"http://localhost:{rp.port}/cb",  # the any-port rule is for IP literals only
        "https://evil.example/cb",
    ]
    for bad in bad_uris:
        oc = oauth_client(client, redirect_uri=bad)
        auth = start(oc, web_server.base_url)
        response = httpx.get(auth.url, timeout=30)
        assert response.status_code == 400, bad
        assert "location" not in response.headers
        assert "text/html" in response.headers["content-type"]
        assert "not the one registered" in response.text
    page.goto(start(oauth_client(client, redirect_uri=bad_uris[0]), web_server.base_url).url)
    page.get_by_role("heading", name="This sign-in request cannot be completed").wait_for()
    page.shot("unregistered-redirect")
    unknown = httpx.get(
        web_server.base_url + "/oauth2/authorize",
        params={"response_type": "code", "client_id": "nope", "redirect_uri": rp.url},
    )
    assert unknown.status_code == 400 and "location" not in unknown.headers
    assert "text/html" in unknown.headers["content-type"]
    assert len(rp.hits) == hits


def test_loopback_callback_matches_on_any_port(web_server, web_user, rp, page) -> None:
    owner = web_user()
    client = register_client(web_server, owner, "http://127.0.0.1:1/cb")
    oc = oauth_client(client, scope="profile", redirect_uri=rp.url)  # same path, RP port
    auth = start(oc, web_server.base_url)
    page.goto(auth.url)
    sign_in_if_asked(page, owner)
    answer_consent(page, "Allow")
    callback = rp.wait(len(rp.hits))
    token = oc.fetch_token(
        web_server.base_url + "/token", authorization_response=callback, code_verifier=auth.verifier
    )
    assert token["access_token"]


def test_pkce_is_required_and_plain_refused(web_server, web_user, rp) -> None:
    owner = web_user()
    client = register_client(web_server, owner, rp.url)
    base = {"response_type": "code", "client_id": client.key, "state": "s1"}
    cases = [
        ({}, "PKCE is required"),
        ({"code_challenge": "a" * 43, "code_challenge_method": "plain"}, "plain is refused"),
        ({"code_challenge": "a" * 43}, "Missing code_challenge_method"),
    ]
    for extra, message in cases:
        r = httpx.get(
            web_server.base_url + "/oauth2/authorize", params={**base, **extra}, timeout=30
        )
        assert r.status_code == 302, r.text
        location = r.headers["location"]
        assert location.startswith(rp.url + "?")
        params = rp.params(location)
        assert params["error"] == "invalid_request" and params["state"] == "s1"
        assert message in params["error_description"]


def test_consent_denied_redirects_access_denied(web_server, web_user, rp, page) -> None:
    owner = web_user()
    client = register_client(web_server, owner, rp.url)
    oc = oauth_client(client, scope="profile")
    auth = start(oc, web_server.base_url)
    page.goto(auth.url)
    sign_in_if_asked(page, owner)
    answer_consent(page, "Deny")
    params = rp.params(rp.wait(len(rp.hits)))
    assert params["error"] == "access_denied" and params["state"] == auth.state
    assert "code" not in params


def test_consent_without_csrf_token_is_refused(web_server, web_user, rp, anon) -> None:
    owner = web_user()
    client = register_client(web_server, owner, rp.url)
    r = anon.get("/login")
    anon.post(
        "/login",
        data={
            "username": owner.username,
            "password": owner.password,
            "csrf_token": csrf_of(r.text),
        },
    )
    auth = start(oauth_client(client, scope="profile"), web_server.base_url)
    page = anon.get(auth.url)
    assert page.status_code == 200 and "Allow" in page.text
    csp = page.headers["content-security-policy"]
    assert f"form-action 'self' {rp.origin}" in csp
    assert page.headers["x-frame-options"] == "DENY"
    fields = {
        "response_type": "code",
        "client_id": client.key,
        "redirect_uri": client.callback,
        "scope": "profile",
        "code_challenge": "a" * 43,
        "code_challenge_method": "S256",
        "decision": "allow",
    }
    refused = anon.post("/oauth2/consent", data=fields)
    assert refused.status_code == 403 and "location" not in refused.headers
    assert "This form cannot be accepted" in refused.text
    accepted = anon.post("/oauth2/consent", data={**fields, "csrf_token": csrf_of(page.text)})
    assert accepted.status_code == 302 and "code=" in accepted.headers["location"]


def test_remembered_consent_rules(web_server, web_user, rp, page) -> None:
    """Remembered for an exact, non-loopback callback (localhost is a name, not the loopback
    IP literal); always asked for a loopback callback, for more scopes and prompt=consent."""
    owner = web_user()
    exact = register_client(web_server, owner, f"http://localhost:{rp.port}/cb")
    loopback = register_client(web_server, owner, rp.url)

    def consent_shown(client, scope="profile", **params) -> bool:
        oc = oauth_client(client, scope=scope)
        auth = start(oc, web_server.base_url, **params)
        before = len(rp.hits)
        page.goto(auth.url)
        sign_in_if_asked(page, owner)
        shown = page.get_by_role("button", name="Allow").count() > 0
        if shown:
            answer_consent(page, "Allow")
        assert "code" in rp.params(rp.wait(before + 1))
        return shown

    assert consent_shown(exact)
    assert not consent_shown(exact)  # remembered
    assert consent_shown(exact, scope="profile email")  # more than was allowed
    assert not consent_shown(exact, scope="email")
    assert consent_shown(exact, prompt="consent")
    assert consent_shown(loopback)
    assert consent_shown(loopback)  # never remembered for a loopback callback


def test_sign_in_form_may_lead_straight_to_the_client(web_server, web_user, rp, page) -> None:
    """Remembered consent, signed out: the sign-in form's POST redirects through the
    authorization to the client's origin, which the sign-in page's CSP must allow."""
    owner = web_user()
    client = register_client(web_server, owner, f"http://localhost:{rp.port}/cb")
    _authorize(page, web_server, rp, client, owner, scope="profile")  # consent remembered
    page.context.clear_cookies()
    oc = oauth_client(client, scope="profile")
    auth = start(oc, web_server.base_url)
    before = len(rp.hits)
    page.goto(auth.url)
    sign_in_if_asked(page, owner)
    callback = rp.wait(before + 1)
    assert rp.params(callback)["state"] == auth.state
