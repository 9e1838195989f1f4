"""Edges of the authorization endpoint and the pages over plain HTTP (no browser needed):
prompt and max_age, repeated parameters, concurrent code exchanges, malformed page input,
and what the database keeps of codes and sessions."""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.browser.conftest import csrf_of
from tests.browser.flows import oauth_client, register_client, start, token_request
from tests.support.server import ServerProcess

CALLBACK = "http://127.0.0.1:9/cb"  # never visited: these tests read the Location header


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}


@pytest.fixture
def signed_in(web_server: ServerProcess, web_user) -> Iterator[tuple[httpx.Client, object]]:
    user = web_user()
    with httpx.Client(base_url=web_server.base_url, timeout=30) as c:
        r = c.get("/login")
        r = c.post(
            "/login",
            data={
                "username": user.username,
                "password": user.password,
                "csrf_token": csrf_of(r.text),
            },
        )
        assert r.status_code == 303
        yield c, user


def _code(c: httpx.Client, web_server, client, scope="profile", **params):
    """Run an authorization in the signed-in client ``c`` up to the redirect with the code."""
    auth = start(oauth_client(client, scope=scope), web_server.base_url, **params)
    r = c.get(auth.url)
    if r.status_code == 200:  # the consent page
        fields = dict(_hidden(r.text))
        r = c.post("/oauth2/consent", data={**fields, "decision": "allow"})
    assert r.status_code == 302, r.text
    return auth, _query(r.headers["location"])


def _hidden(html: str):
    import html as html_lib
    import re

    for name, value in re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', html):
        yield name, html_lib.unescape(value)


def test_prompt_none_without_a_session_is_login_required(web_server, web_user) -> None:
    client = register_client(web_server, web_user(), CALLBACK)
    auth = start(oauth_client(client, scope="openid"), web_server.base_url, prompt="none")
    r = httpx.get(auth.url, timeout=30)
    assert r.status_code == 302
    got = _query(r.headers["location"])
    assert got["error"] == "login_required" and got["state"] == auth.state


def test_prompt_none_when_consent_is_needed(web_server, web_user, signed_in) -> None:
    c, _user = signed_in
    client = register_client(web_server, web_user(), CALLBACK)
    auth = start(oauth_client(client, scope="openid"), web_server.base_url, prompt="none")
    r = c.get(auth.url)
    assert r.status_code == 302
    assert _query(r.headers["location"])["error"] == "consent_required"


def test_prompt_login_asks_for_the_password_again(web_server, web_user, signed_in) -> None:
    c, _user = signed_in
    client = register_client(web_server, web_user(), CALLBACK)
    for extra in ({"prompt": "login"}, {"max_age": "0"}):
        auth = start(oauth_client(client, scope="openid"), web_server.base_url, **extra)
        r = c.get(auth.url)
        assert r.status_code == 302
        login = r.headers["location"]
        assert login.startswith(web_server.base_url + "/login?") and "reauth=1" in login
        back = _query(login)["next"]
        assert back.startswith("/oauth2/authorize?") and "prompt" not in _query(back)
        page = c.get(login)
        assert page.status_code == 200 and 'name="password"' in page.text  # not "signed in"


def test_repeated_parameter_is_an_error_redirect(web_server, web_user, signed_in) -> None:
    c, _user = signed_in
    client = register_client(web_server, web_user(), CALLBACK)
    auth = start(oauth_client(client, scope="profile"), web_server.base_url)
    r = c.get(auth.url + "&scope=email")
    assert r.status_code == 302
    got = _query(r.headers["location"])
    assert got["error"] == "invalid_request" and "more than once" in got["error_description"]


def test_concurrent_exchanges_of_one_code(web_server, web_user, signed_in) -> None:
    """Of several simultaneous exchanges at most one gets tokens, and a replay ends them."""
    c, _user = signed_in
    client = register_client(web_server, web_user(), CALLBACK)
    auth, got = _code(c, web_server, client)
    data = {
        "grant_type": "authorization_code",
        "code": got["code"],
        "redirect_uri": CALLBACK,
        "code_verifier": auth.verifier,
    }
    results: list[httpx.Response] = []
    barrier = threading.Barrier(4)

    def exchange() -> None:
        barrier.wait()
        results.append(token_request(web_server, client, **data))

    threads = [threading.Thread(target=exchange) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    ok = [r for r in results if r.status_code == 200]
    assert len(results) == 4 and len(ok) <= 1
    assert all(r.json()["error"] == "invalid_grant" for r in results if r.status_code != 200)
    for r in ok:  # the others were replays: the winner's tokens are revoked too
        me = httpx.get(
            web_server.base_url + "/profiles/v2/me",
            headers={"Authorization": f"Bearer {r.json()['access_token']}"},
        )
        assert me.status_code == 401


def test_malformed_page_input_gets_pages(web_server, anon) -> None:
    r = anon.get("/login")
    token = csrf_of(r.text)
    cases = [
        anon.post("/login", json={"username": "x"}),  # not a form
        anon.post(
            "/login",
            content=b"username=a&username=b&csrf_token=" + token.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        anon.post(
            "/login",
            content=b"username=%00&csrf_token=" + token.encode(),
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
        anon.get("/login", params={"next": "/x" * 3000}),
        anon.get("/oauth2/authorize"),
        anon.get("/oauth2/authorize", params={"client_id": "\u2603" * 500}),
        anon.post(
            "/oauth2/consent",
            content=b"\xff\xfe",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        ),
    ]
    for r in cases:
        assert 400 <= r.status_code < 500, (r.request.url, r.status_code)
        assert "text/html" in r.headers["content-type"], r.request.url
        assert "Traceback" not in r.text


def test_only_digests_of_codes_and_sessions_are_stored(web_server, web_user, signed_in) -> None:
    if not web_server.db_url.startswith("sqlite:"):
        pytest.skip("reads the SQLite file")
    c, _user = signed_in
    client = register_client(web_server, web_user(), CALLBACK)
    _auth, got = _code(c, web_server, client)
    session_id = c.cookies["agave_session_sd2e"]
    path = Path(web_server.db_url.removeprefix("sqlite:///"))
    with sqlite3.connect(path) as db:
        dump = "\n".join(db.iterdump())
    for secret in (got["code"], session_id):
        assert secret not in dump


def test_sign_out_reaches_every_worker(tmp_path) -> None:
    """Sessions live in the database: a sign-out answered by one worker process holds for
    requests any other worker answers."""
    with ServerProcess(tmp_path / "two", workers=2) as srv:
        srv.add_user("wanda", "pw-wanda-123")
        with httpx.Client(base_url=srv.base_url, timeout=30) as c:
            r = c.get("/login")
            r = c.post(
                "/login",
                data={
                    "username": "wanda",
                    "password": "pw-wanda-123",
                    "csrf_token": csrf_of(r.text),
                },
            )
            assert r.status_code == 303
            session_id = c.cookies["agave_session_sd2e"]
            assert all("Signed in as" in c.get("/login").text for _ in range(8))
            r = c.post("/logout", data={"csrf_token": csrf_of(c.get("/login").text)})
            assert r.status_code == 200
        with httpx.Client(
            base_url=srv.base_url, timeout=30, cookies={"agave_session_sd2e": session_id}
        ) as replay:
            assert not any("Signed in as" in replay.get("/login").text for _ in range(8))


FUZZ = settings(
    max_examples=30,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=300)


@FUZZ
@given(
    name=st.sampled_from(
        ["client_id", "redirect_uri", "scope", "code_challenge", "nonce", "prompt", "max_age"]
    ),
    value=_TEXT,
)
def test_fuzzed_authorization_requests_never_fail(web_server, anon, name, value) -> None:
    params = {
        "response_type": "code",
        "client_id": "unknown",
        "code_challenge": "a" * 43,
        "code_challenge_method": "S256",
        name: value,
    }
    r = anon.get("/oauth2/authorize", params=params)
    assert r.status_code < 500, (name, value)


@FUZZ
@given(where=st.sampled_from(["next", "id_token_hint", "post_logout_redirect_uri"]), value=_TEXT)
def test_fuzzed_page_parameters_never_fail(web_server, anon, where, value) -> None:
    path = "/login" if where == "next" else "/oauth2/logout"
    r = anon.get(path, params={where: value})
    assert r.status_code < 500 and "text/html" in r.headers["content-type"], (where, value)


@FUZZ
@given(value=st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=400))
def test_fuzzed_userinfo_tokens_never_fail(web_server, anon, value) -> None:
    r = anon.get("/oauth2/userinfo", headers={"Authorization": f"Bearer x{value}x"})
    assert r.status_code in (400, 401), value


def test_sessions_and_clients_stay_in_their_tenant(web_server, web_user, signed_in) -> None:
    """A second tenant on the same port (told apart by Host): tenant A's session id and
    client mean nothing there."""
    c, _user = signed_in
    other = f"http://localhost:{web_server.port}"
    listed = web_server.admin("tenants", "list", check=False).stdout
    if "t2web" not in listed:
        web_server.admin("tenants", "add", "t2web", "--name", "Other", "--base-url", other + "/")
    client = register_client(web_server, web_user(), CALLBACK)
    session_id = c.cookies["agave_session_sd2e"]
    with httpx.Client(base_url=other, timeout=30) as b:
        for name in ("agave_session_sd2e", "agave_session_t2web"):
            b.cookies.clear()
            b.cookies.set(name, session_id)
            page = b.get("/login").text
            assert "Signed in as" not in page and "Other" in page
        b.cookies.clear()
        auth = start(oauth_client(client, scope="profile"), other)
        r = b.get(auth.url)
        assert r.status_code == 400 and "location" not in r.headers
        assert "does not exist" in r.text or "not known" in r.text


def test_authorization_request_by_form_post(web_server, web_user, signed_in) -> None:
    """OpenID Connect allows the authorization request as a form POST (no CSRF token: it is
    the relying party's form); it behaves as the GET."""
    c, _user = signed_in
    client = register_client(web_server, web_user(), CALLBACK)
    auth = start(oauth_client(client, scope="openid"), web_server.base_url)
    r = c.post("/oauth2/authorize", data=_query(auth.url))
    assert r.status_code == 200 and "Allow" in r.text  # the consent page, as for the GET
