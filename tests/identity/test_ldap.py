"""LDAP users on the real server, against a real slapd: the clients API (HTTP Basic), the
password grant and /profiles/v2/me; wrong passwords, the throttle, case, injection, and the
directory going away and coming back."""

from __future__ import annotations

import secrets

import httpx
import pytest

from tests.identity.conftest import NOPW_HOST, SEARCH_HOST, tenant_http
from tests.support.slapd import Slapd

TENANT_HOSTS = {"sd2e": None, "search": SEARCH_HOST}


def create_client(http: httpx.Client, username: str, password: str) -> tuple[str, str]:
    name = "c" + secrets.token_hex(4)
    r = http.post("/clients/v2", data={"clientName": name}, auth=(username, password))
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    return result["consumerKey"], result["consumerSecret"]


def password_grant(
    http: httpx.Client, client: tuple[str, str], username: str, password: str
) -> httpx.Response:
    return http.post(
        "/token",
        data={
            "grant_type": "password",
            "username": username,
            "password": password,
            "scope": "PRODUCTION",
        },
        auth=client,
    )


@pytest.fixture(params=sorted(TENANT_HOSTS))
def tenant_client(request, ldap_server):
    """The sd2e (DN template) and search (service-account search) tenants in turn."""
    with tenant_http(ldap_server, TENANT_HOSTS[request.param]) as http:
        yield http


def test_ldap_user_creates_a_client_gets_tokens_and_a_profile(tenant_client, slapd: Slapd):
    alice = slapd.user("alice")
    client = create_client(tenant_client, alice.uid, alice.password)
    r = password_grant(tenant_client, client, alice.uid, alice.password)
    assert r.status_code == 200, r.text
    token = r.json()["access_token"]
    me = tenant_client.get("/profiles/v2/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200, me.text
    profile = me.json()["result"]
    assert profile["username"] == "alice"
    assert profile["email"] == alice.mail
    assert (profile["first_name"], profile["last_name"]) == (alice.given_name, alice.surname)
    listed = tenant_client.get("/clients/v2", auth=(alice.uid, alice.password))
    assert listed.status_code == 200
    assert client[0] in {c["consumerKey"] for c in listed.json()["result"]}


def test_uid_case_does_not_make_another_user(tenant_client, slapd: Slapd):
    bob = slapd.user("bob")
    client = create_client(tenant_client, "BoB", bob.password)
    # The client belongs to the directory's "bob", whatever case was typed.
    listed = tenant_client.get("/clients/v2", auth=("bob", bob.password)).json()["result"]
    assert client[0] in {c["consumerKey"] for c in listed}
    r = password_grant(tenant_client, client, "BOB", bob.password)
    assert r.status_code == 200, r.text
    me = tenant_client.get(
        "/profiles/v2/me", headers={"Authorization": f"Bearer {r.json()['access_token']}"}
    )
    assert me.json()["result"]["username"] == "bob"


def test_wrong_password_is_401_and_the_throttle_counts_every_spelling_once(
    tenant_client, slapd: Slapd
):
    carol = slapd.user("carol")
    client = create_client(tenant_client, carol.uid, carol.password)
    statuses = []
    for typed in ("carol", "Carol", "CAROL", "cArOl"):  # LIMITS: 4 failures per account
        r = password_grant(tenant_client, client, typed, "not-" + carol.password)
        statuses.append(r.status_code)
        assert r.json()["error"] == "invalid_grant", r.text
        assert "Invalid username or password" in r.json()["error_description"]
    assert statuses == [400] * 4  # RFC 6749 section 5.2 (AGAVE_WIRE.md): invalid_grant is 400
    throttled = password_grant(tenant_client, client, "carol", carol.password)
    assert throttled.status_code == 429, throttled.text
    assert int(throttled.headers["Retry-After"]) >= 1
    basic = tenant_client.get("/clients/v2", auth=("CAROL", carol.password))
    assert basic.status_code == 429, basic.text


def test_wrong_password_on_the_clients_api_is_401(tenant_client, slapd: Slapd):
    r = tenant_client.get("/clients/v2", auth=("alice", "wrong password"))
    assert r.status_code == 401, r.text
    assert r.headers["WWW-Authenticate"].startswith("Basic ")
    unknown = tenant_client.get("/clients/v2", auth=("nobody-here", "whatever"))
    assert unknown.status_code == 401


@pytest.mark.parametrize(
    "username",
    ["*", ")(uid=*", "alice)(uid=*", "*)(|(uid=*", "al*", "alice,ou=People", "uid=alice"],
)
def test_injection_in_the_username_signs_nobody_in(tenant_client, slapd: Slapd, username):
    alice = slapd.user("alice")
    r = tenant_client.get("/clients/v2", auth=(username, alice.password))
    assert r.status_code == 401, (username, r.text)


def test_nul_in_the_username_is_refused(tenant_client, slapd: Slapd):
    alice = slapd.user("alice")
    client = create_client(tenant_client, alice.uid, alice.password)
    r = password_grant(tenant_client, client, "alice\x00", alice.password)
    assert r.status_code in (400, 401), r.text
    assert "access_token" not in r.json()


def test_empty_password_is_refused(tenant_client, slapd: Slapd):
    r = tenant_client.get("/clients/v2", auth=("alice", ""))
    assert r.status_code == 401, r.text


def test_password_login_off_says_so(ldap_server):
    with tenant_http(ldap_server, NOPW_HOST) as http:
        # A client made while local login was on, then local login switched off.
        ldap_server.admin("tenants", "update", "nopw", "--local-login")
        ldap_server.add_user("dora", "dora-pw-456", tenant="nopw")
        client = create_client(http, "dora", "dora-pw-456")
        off = ldap_server.admin("tenants", "update", "nopw", "--no-local-login")
        assert "the password grant (grant_type=password)" in off.stdout
        assert "are refused" in off.stdout

        basic = http.get("/clients/v2", auth=("dora", "dora-pw-456"))
        assert basic.status_code == 403, basic.text
        assert "Password sign-in is switched off for tenant nopw" in basic.json()["message"]
        token = password_grant(http, client, "dora", "dora-pw-456")
        assert token.status_code == 400, token.text
        assert token.json()["error"] == "unsupported_grant_type"
        assert "switched off for tenant nopw" in token.json()["error_description"]
        # Without a password nothing changes: the client still gets its own token.
        cc = http.post("/token", data={"grant_type": "client_credentials"}, auth=client)
        assert cc.status_code == 200, cc.text


def test_directory_down_is_503_and_recovers(ldap_server, slapd: Slapd):
    alice = slapd.user("alice")
    ldap_server.add_user("localadmin", "local-pw-123", admin=True)
    with tenant_http(ldap_server) as http, tenant_http(ldap_server, SEARCH_HOST) as search:
        client = create_client(http, alice.uid, alice.password)
        slapd.stop()
        try:
            r = password_grant(http, client, alice.uid, alice.password)
            assert r.status_code == 503, r.text
            assert r.json()["error"] == "temporarily_unavailable"
            assert "not answering" in r.json()["error_description"]
            assert "Retry-After" in r.headers
            for c in (http, search):
                basic = c.get("/clients/v2", auth=(alice.uid, alice.password))
                assert basic.status_code == 503, basic.text
                assert "directory" in basic.json()["message"]
                # Refused before any bind: a down directory cannot make it a 503.
                empty = c.get("/clients/v2", auth=(alice.uid, ""))
                assert empty.status_code == 401, empty.text
            # A local account (local login is on in sd2e) does not need the directory.
            assert http.get("/clients/v2", auth=("localadmin", "local-pw-123")).status_code == 200
        finally:
            slapd.start()
        r = password_grant(http, client, alice.uid, alice.password)
        assert r.status_code == 200, r.text
        assert search.get("/clients/v2", auth=(alice.uid, alice.password)).status_code == 200


def _sign_in_form(tab, base_url: str, username: str, password: str) -> None:
    tab.goto(base_url + "/login")
    tab.get_by_label("Username").fill(username)
    tab.get_by_label("Password").fill(password)
    tab.get_by_role("button", name="Sign in").click()
    tab.wait_for_load_state()


def test_browser_login_page_with_an_ldap_user(ldap_server, slapd: Slapd, page):
    alice = slapd.user("alice")
    _sign_in_form(page, ldap_server.base_url, "alice", "not-her-password")
    assert "Invalid username or password" in page.locator("main").inner_text()
    _sign_in_form(page, ldap_server.base_url, "ALICE", alice.password)
    header = page.locator("header").inner_text()
    assert "Signed in as" in header and "alice" in header and "ALICE" not in header


def test_browser_login_page_when_the_directory_is_down(ldap_server, slapd: Slapd, page):
    alice = slapd.user("alice")
    statuses: list[int] = []
    page.on("response", lambda r: statuses.append(r.status) if r.url.endswith("/login") else None)
    slapd.stop()
    try:
        _sign_in_form(page, ldap_server.base_url, "alice", alice.password)
        text = page.locator("main").inner_text()
        assert "not answering" in text and "Invalid username or password" not in text, text
        assert statuses[-1] == 503
    finally:
        slapd.start()
    _sign_in_form(page, ldap_server.base_url, "alice", alice.password)
    assert "Signed in as" in page.locator("header").inner_text()
