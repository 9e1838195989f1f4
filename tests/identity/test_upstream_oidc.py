"""Sign-in through upstream OpenID Connect providers, in headless Chromium: the tenant's login
page ("Sign in with NAME"), the upstream's login page (node oidc-provider), back signed in.

Also the refusals a person can meet (a username the wire cannot carry, an e-mail address the
allow-list does not admit or that is not verified) and the attacks on the callback: the answer
delivered to another upstream's callback (mix-up), a wrong ``iss``, a replay, another browser.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator
from contextlib import closing
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet

from agave_server.identity import upstream_oidc
from tests.browser.flows import bearer_me, oauth_client, register_client, start
from tests.browser.relying_party import Callback
from tests.conftest import User
from tests.support.oidc_provider import (
    Account,
    ProviderSpec,
    UpstreamProviders,
    answer_without_browser,
    sign_in_at_upstream,
)
from tests.support.server import ServerProcess, free_port

LOCAL_ALICE = ("alice", "local-alice-pw-1")


def _person(username: str, email: str, verified: bool = True, **more) -> dict:
    return {
        "preferred_username": username,
        "email": email,
        "email_verified": verified,
        "given_name": username.capitalize(),
        "family_name": "Upstream",
        **more,
    }


ALPHA_ACCOUNTS = [
    Account("ursula", _person("ursula", "ursula@example.org")),
    Account("alice-at-alpha", _person("alice", "alice@example.org")),
    Account("eve", _person("eve", "eve@example.org", verified=False)),
    Account("mallory", _person("mallory", "mallory@evil.test")),
    Account("spacey", _person("bad name!", "spacey@example.org")),
    Account("ada", _person("ada", "ada@example.org")),
    Account("carol-at-alpha", _person("carol", "carol@example.org")),
]
BETA_ACCOUNTS = [Account("victor", _person("victor", "victor@elsewhere.test"))]


@pytest.fixture(scope="module")
def oidc_setup(tmp_path_factory) -> Iterator[tuple[ServerProcess, UpstreamProviders]]:
    srv = ServerProcess(tmp_path_factory.mktemp("oidc-server"))
    fed_url = f"http://localhost:{srv.port}"
    alpha = ProviderSpec("alpha", ALPHA_ACCOUNTS)
    beta = ProviderSpec("beta", BETA_ACCOUNTS)
    alpha.redirect_uris = [
        f"{srv.base_url}/login/upstream/alpha/callback",
        f"{fed_url}/login/upstream/alpha/callback",
    ]
    beta.redirect_uris = [f"{srv.base_url}/login/upstream/beta/callback"]
    providers = UpstreamProviders(tmp_path_factory.mktemp("upstreams"), [alpha, beta])
    try:
        providers.start()
        srv.add_user(*LOCAL_ALICE)
        srv.admin("tenants", "add", "fed", "--name", "Federated", "--base-url", fed_url + "/")
        for tenant, spec, domains in (
            ("sd2e", alpha, "example.org"),
            ("sd2e", beta, ""),
            ("fed", alpha, ""),
        ):
            secret_file = srv.workdir / f"{tenant}-{spec.name}.secret"
            secret_file.write_text(spec.client_secret + "\n")
            args = ["--upstream-oidc", spec.name, "--issuer", spec.issuer]
            args += ["--client-id", spec.client_id, "--client-secret-file", str(secret_file)]
            if domains:
                args += ["--email-domains", domains]
            srv.admin("tenants", "update", tenant, *args)
        srv.admin("tenants", "update", "fed", "--no-local-login")
        srv.start()
        yield srv, providers
    finally:
        srv.close()
        providers.stop()


def users_of(srv: ServerProcess, tenant: str = "sd2e") -> dict[str, dict]:
    out = srv.admin("users", "list", "--tenant", tenant, "--json").stdout
    return {u["username"]: u for u in json.loads(out)}


def start_at_login_page(tab, base_url: str, upstream: str, next_path: str | None = None) -> None:
    tab.goto(base_url + "/login" + (f"?{urlencode({'next': next_path})}" if next_path else ""))
    tab.get_by_role("link", name=f"Sign in with {upstream}").click()


def signed_in_as(tab) -> str | None:
    found = re.search(r"Signed in as\s+(\S+)", tab.locator("header").inner_text())
    return found.group(1) if found else None


def held_answer(srv: ServerProcess, upstream: str, login: str) -> tuple[httpx.Client, str]:
    """Start signing in with ``upstream`` from a cookie-keeping HTTP client, sign in at the
    upstream, and hold its answer (the callback URL) instead of opening it."""
    http = srv.client()
    start = http.get(f"/login/upstream/{upstream}")
    assert start.status_code == 303, start.text
    callback = f"{srv.base_url}/login/upstream/{upstream}/callback"
    return http, answer_without_browser(start.headers["location"], login, callback)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query))
    query.update(changes)
    return urlunsplit(parts._replace(query=urlencode(query)))


def test_sign_in_through_both_login_pages(oidc_setup, page):
    srv, _ = oidc_setup
    start_at_login_page(page, srv.base_url, "alpha", next_path="/login?welcome=1")
    sign_in_at_upstream(page, "ursula")
    page.wait_for_url(f"{srv.base_url}/login?welcome=1")
    assert signed_in_as(page) == "ursula"
    user = users_of(srv)["ursula"]
    assert user["email"] == "ursula@example.org"
    assert (user["first_name"], user["last_name"]) == ("Ursula", "Upstream")


def test_a_second_upstream_of_the_tenant(oidc_setup, page):
    srv, _ = oidc_setup
    page.goto(srv.base_url + "/login")
    assert page.get_by_role("link", name="Sign in with alpha").count() == 1
    page.get_by_role("link", name="Sign in with beta").click()
    sign_in_at_upstream(page, "victor")
    page.wait_for_url(f"{srv.base_url}/login")
    assert signed_in_as(page) == "victor"


def test_same_name_is_never_linked_to_the_local_account(oidc_setup, browser):
    srv, _ = oidc_setup
    for _round in range(2):  # the second sign-in finds the same federated user
        context = browser.new_context()
        try:
            tab = context.new_page()
            start_at_login_page(tab, srv.base_url, "alpha")
            sign_in_at_upstream(tab, "alice-at-alpha")
            tab.wait_for_url(f"{srv.base_url}/login")
            assert signed_in_as(tab) == "alice-2"
        finally:
            context.close()
    names = set(users_of(srv))
    assert {"alice", "alice-2"} <= names and "alice-3" not in names
    # The local alice still signs in with her own password, and is still herself.
    with srv.client() as http:
        r = http.get("/clients/v2", auth=LOCAL_ALICE)
        assert r.status_code == 200, r.text


@pytest.mark.parametrize(
    ("login", "status", "says"),
    [
        ("spacey", 400, "cannot be a username on this tenant"),
        ("eve", 403, "does not say your address is verified"),
        ("mallory", 403, "is open to e-mail addresses of example.org only"),
    ],
)
def test_refusals_are_clear_pages(oidc_setup, page, login, status, says):
    srv, _ = oidc_setup
    statuses: list[int] = []
    page.on(
        "response",
        lambda r: statuses.append(r.status) if "/login/upstream/alpha/callback" in r.url else None,
    )
    start_at_login_page(page, srv.base_url, "alpha")
    sign_in_at_upstream(page, login)
    page.wait_for_selector("[role=alert]")
    text = page.locator("main").inner_text()
    assert says in text, text
    assert statuses and statuses[-1] == status
    assert signed_in_as(page) is None
    assert login not in users_of(srv) and "bad" not in "".join(users_of(srv))


def refusal(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    assert response.headers["content-type"].startswith("text/html")
    assert "agave_session_" not in response.headers.get("set-cookie", "")
    return response.text


def test_the_held_answer_signs_in_when_delivered_as_it_came(oidc_setup):
    """The control for the refusals below: the same steps, undisturbed, do sign in."""
    srv, _ = oidc_setup
    http, answer = held_answer(srv, "alpha", "ada")
    with closing(http):
        done = http.get(answer)
        assert done.status_code == 303, done.text
        assert "agave_session_sd2e=" in done.headers["set-cookie"]
        assert "Signed in as" in http.get("/login").text


def test_answer_delivered_to_another_upstreams_callback_is_refused(oidc_setup):
    srv, _ = oidc_setup
    http, answer = held_answer(srv, "alpha", "ada")
    with closing(http):
        moved = answer.replace("/login/upstream/alpha/callback", "/login/upstream/beta/callback")
        assert "started with another provider" in refusal(http.get(moved))


def test_wrong_iss_is_refused(oidc_setup):
    srv, providers = oidc_setup
    http, answer = held_answer(srv, "alpha", "ada")
    assert "iss=" in answer  # oidc-provider sends RFC 9207's iss
    with closing(http):
        text = refusal(http.get(with_query(answer, iss=providers["beta"].issuer)))
        assert "mix-up defence" in text and providers["beta"].issuer in text


def test_missing_iss_is_refused_when_the_upstream_sends_one(oidc_setup):
    srv, _ = oidc_setup
    http, answer = held_answer(srv, "alpha", "ada")
    parts = urlsplit(answer)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "iss"]
    with closing(http):
        stripped = urlunsplit(parts._replace(query=urlencode(query)))
        assert "carries no iss" in refusal(http.get(stripped))


def test_replayed_or_foreign_callback_is_refused(oidc_setup):
    srv, _ = oidc_setup
    http, answer = held_answer(srv, "alpha", "ada")
    with closing(http), srv.client() as other:
        # Another browser (no cookie from the start of this sign-in) is refused ...
        assert "started in another browser" in refusal(other.get(answer))
        # ... and that consumed the sign-in: the right browser cannot use it afterwards.
        assert "already completed or has expired" in refusal(http.get(answer))


def test_answer_replayed_after_success_is_refused(oidc_setup):
    srv, _ = oidc_setup
    http, answer = held_answer(srv, "alpha", "ada")
    with closing(http):
        assert http.get(answer).status_code == 303
        assert "already completed or has expired" in refusal(http.get(answer))


def test_tenant_without_passwords_shows_only_upstreams(oidc_setup, page):
    srv, _ = oidc_setup
    fed = f"http://localhost:{srv.port}"
    page.goto(fed + "/login")
    assert page.locator("input[type=password]").count() == 0
    start_at_login_page(page, fed, "alpha")
    sign_in_at_upstream(page, "ursula")
    page.wait_for_url(f"{fed}/login")
    assert signed_in_as(page) == "ursula"
    assert "ursula" in users_of(srv, "fed")


def test_the_real_upstreams_id_token_verifies_and_a_tampered_copy_does_not(oidc_setup):
    """Redeem a held answer ourselves (with the PKCE verifier the server would derive from the
    browser's cookie) to get a genuine ID token from oidc-provider, then check it with the
    upstream's own JWKS: as it came it verifies; with one claim changed it is refused."""
    srv, providers = oidc_setup
    alpha = providers["alpha"]
    http, answer = held_answer(srv, "alpha", "ada")
    with closing(http):
        browser_secret = http.cookies["agave_upstream_sd2e"]
    params = dict(parse_qsl(urlsplit(answer).query))
    state = params["state"]
    token = httpx.post(
        alpha.issuer + "/token",
        data={
            "grant_type": "authorization_code",
            "code": params["code"],
            "redirect_uri": f"{srv.base_url}/login/upstream/alpha/callback",
            "code_verifier": upstream_oidc.pkce_verifier(browser_secret, state),
        },
        auth=(alpha.client_id, alpha.client_secret),
    )
    assert token.status_code == 200, token.text
    id_token = token.json()["id_token"]
    keys = KeySet.import_key_set(httpx.get(alpha.issuer + "/jwks").json())
    check = {
        "issuer": alpha.issuer,
        "client_id": alpha.client_id,
        "nonce": upstream_oidc.nonce_for(browser_secret, state),
    }
    assert upstream_oidc.verify_id_token(id_token, keys, **check)["sub"] == "ada"

    header, payload, signature = id_token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "alice-at-alpha"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with pytest.raises(upstream_oidc.UpstreamRefused, match="not validly signed"):
        upstream_oidc.verify_id_token(".".join((header, forged_payload, signature)), keys, **check)
    with pytest.raises(upstream_oidc.UpstreamRefused, match="iss"):
        wrong = {**check, "issuer": providers["beta"].issuer}
        upstream_oidc.verify_id_token(id_token, keys, **wrong)


@pytest.fixture(scope="module")
def rp() -> Iterator[Callback]:
    cb = Callback()
    yield cb
    cb.close()


def test_upstream_sign_in_continues_the_tenants_own_code_flow(oidc_setup, page, rp):
    """An application of the tenant sends the person to /oauth2/authorize; they sign in with
    the upstream; the tenant's consent page follows and the tenant issues its own tokens."""
    srv, _ = oidc_setup
    client = register_client(srv, User(*LOCAL_ALICE), rp.url)
    oc = oauth_client(client, scope="openid profile email")
    auth = start(oc, srv.base_url, nonce="n-" + client.key[:8])
    page.goto(auth.url)
    page.get_by_role("link", name="Sign in with alpha").click()
    sign_in_at_upstream(page, "ursula")
    page.get_by_role("button", name="Allow", exact=True).click()
    callback = rp.wait(1)
    token = oc.fetch_token(
        srv.base_url + "/token", authorization_response=callback, code_verifier=auth.verifier
    )
    me = bearer_me(srv, token["access_token"])
    assert me.status_code == 200, me.text
    assert me.json()["result"]["username"] == "ursula"
    assert me.json()["result"]["email"] == "ursula@example.org"
    assert token["scope"] == "openid profile email" and token["refresh_token"]
    # The tenant's ID token, signed with the tenant's key: iss is the tenant, not the upstream.
    tenant_keys = KeySet.import_key_set(httpx.get(srv.base_url + "/oauth2/jwks").json())
    claims = jwt.decode(token["id_token"], tenant_keys).claims
    assert claims["iss"] == srv.base_url and claims["nonce"] == "n-" + client.key[:8]
    assert claims["aud"] in (client.key, [client.key])
    # The tenant's own token: it refreshes at the tenant, no upstream involved.
    refreshed = oc.refresh_token(srv.base_url + "/token")
    assert bearer_me(srv, refreshed["access_token"]).json()["result"]["username"] == "ursula"


def test_an_unreachable_upstream_is_a_503_page(oidc_setup):
    srv, _ = oidc_setup
    secret_file = srv.workdir / "gone.secret"
    secret_file.write_text("x\n")
    closed = f"http://127.0.0.1:{free_port()}"
    srv.admin(
        "tenants", "update", "sd2e", "--upstream-oidc", "gone", "--issuer", closed,
        "--client-id", "c", "--client-secret-file", str(secret_file),
    )  # fmt: skip
    try:
        with srv.client() as http:
            r = http.get("/login/upstream/gone")
            assert r.status_code == 503, r.text
            assert r.headers["content-type"].startswith("text/html")
            assert "cannot be reached" in r.text
            assert http.get("/login/upstream/nobody").status_code == 404
    finally:
        srv.admin("tenants", "update", "sd2e", "--remove-upstream-oidc", "gone")


def test_a_directory_user_is_not_linked_to_a_federated_account_of_the_same_name(oidc_setup, slapd):
    """carol from the upstream got the name first; the directory's carol is then refused
    with a message, never signed in as the federated account."""
    srv, _ = oidc_setup
    http, answer = held_answer(srv, "alpha", "carol-at-alpha")
    with closing(http):
        assert http.get(answer).status_code == 303
    assert users_of(srv)["carol"]["email"] == "carol@example.org"
    srv.admin(
        "tenants", "update", "sd2e", "--ldap-url", slapd.url,
        "--ldap-user-dn", "uid={username},ou=People,dc=example,dc=org",
    )  # fmt: skip
    try:
        with srv.client() as api:
            r = api.get("/clients/v2", auth=("carol", slapd.user("carol").password))
            assert r.status_code == 403, r.text
            assert "signed in through an upstream provider" in r.json()["message"]
            # The directory's other users are fine.
            bob = slapd.user("bob")
            assert api.get("/clients/v2", auth=("bob", bob.password)).status_code == 200
    finally:
        srv.admin("tenants", "update", "sd2e", "--no-ldap")
