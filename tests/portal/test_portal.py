"""The developer portal in a real browser: a new user signs in, creates a client, reads its key
and secret off the page, subscribes it, gets a token with the curl line the portal shows; and
what the portal changes, the API and the CLI see at once (and the other way round)."""

from __future__ import annotations

import re
import shlex
import subprocess

import httpx
import pytest

from tests.conftest import unique_name
from tests.portal.conftest import sign_in
from tests.support.server import ServerProcess


def _goto(page, server: ServerProcess, path: str) -> None:
    page.goto(server.base_url + path)
    page.wait_for_load_state()


def _create_in_portal(
    page, server: ServerProcess, name: str, tier: str = "Bronze"
) -> tuple[str, str]:
    _goto(page, server, "/portal/clients/new")
    page.get_by_label("Name").fill(name)
    page.get_by_label("Description").fill("made in the portal")
    page.get_by_label("Tier").select_option(tier)
    page.get_by_role("button", name="Create client").click()
    page.get_by_role("heading", name=f"Client {name} created").wait_for()
    key = page.locator("#consumer-key").inner_text().strip()
    secret = page.locator("#consumer-secret").inner_text().strip()
    return key, secret


def test_new_user_creates_a_client_and_gets_a_token_with_the_shown_curl_line(
    portal_server, portal_user, page, cli
) -> None:
    user = portal_user(email="pat@example.org", first_name="Pat", last_name="Lee")
    # Signed out: any portal page goes to the sign-in page and comes back.
    _goto(page, portal_server, "/portal/clients")
    assert "/login?next=" in page.url
    page.shot("signed-out-redirect")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(user.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name="My clients").wait_for()
    assert page.title().startswith("My clients")
    page.shot("clients-empty")

    name = unique_name("portal")
    key, secret = _create_in_portal(page, portal_server, name)
    assert re.fullmatch(r"[A-Za-z0-9_]{10,64}", key) and len(secret) >= 32
    assert page.get_by_text("it will not be shown again").is_visible()
    page.get_by_role("button", name="Copy secret").wait_for()  # the script ran
    page.shot("created-key-and-secret")

    # The same key and secret get a token from POST /token.
    token = httpx.post(
        portal_server.base_url + "/token",
        auth=(key, secret),
        data={"grant_type": "password", "username": user.username, "password": user.password},
        timeout=30,
    )
    assert token.status_code == 200, token.text
    # The CLI sees the client at once.
    listed = cli.as_user(user, "clients", "list", "--json")
    assert listed.code == 0, str(listed)
    assert [c["name"] for c in listed.json()] == [name]

    # The client's page: subscriptions, the curl line with the key filled in.
    _goto(page, portal_server, f"/portal/clients/{name}")
    page.get_by_role("heading", name="Subscriptions").wait_for()
    page.shot("client-page")
    curl = page.locator("#curl-command").inner_text()
    assert key in curl and secret not in curl and "YOUR_CLIENT_SECRET" in curl
    command = curl.replace("YOUR_CLIENT_SECRET", secret).replace("YOUR_PASSWORD", user.password)
    out = subprocess.run(
        shlex.split(command.replace("\\\n", " ")), capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and '"access_token"' in out.stdout, out.stdout + out.stderr

    # Unsubscribe from Jobs in the portal: the CLI agrees; subscribe again to every API.
    page.get_by_role("button", name="Unsubscribe from Jobs").click()
    page.get_by_role("status").wait_for()
    assert "Unsubscribed from Jobs" in page.get_by_role("status").inner_text()
    subs = cli.as_user(user, "clients", "subscriptions", name, "--json")
    assert subs.code == 0, str(subs)
    assert "Jobs" not in {s["apiName"] for s in subs.json()}
    page.get_by_label("Subscribe to").select_option("*")
    page.get_by_role("button", name="Subscribe", exact=True).click()
    page.get_by_role("status").wait_for()
    subs = cli.as_user(user, "clients", "subscriptions", name, "--json")
    assert "Jobs" in {s["apiName"] for s in subs.json()}

    # The account page shows the profile from the user record.
    _goto(page, portal_server, "/portal/account")
    assert page.get_by_text("pat@example.org").is_visible()
    page.shot("account")


def test_revoking_a_session_refuses_its_refresh_token(portal_server, portal_user, page) -> None:
    user = portal_user()
    sign_in(page, portal_server.base_url, user, "/portal/clients")
    name = unique_name("sess")
    key, secret = _create_in_portal(page, portal_server, name)
    pair = httpx.post(
        portal_server.base_url + "/token",
        auth=(key, secret),
        data={"grant_type": "password", "username": user.username, "password": user.password},
        timeout=30,
    ).json()
    _goto(page, portal_server, f"/portal/clients/{name}")
    page.get_by_role("heading", name="Live sessions").wait_for()
    revoke = page.get_by_role("button", name=re.compile("^Revoke session started"))
    assert revoke.count() == 1
    page.shot("live-session")
    revoke.click()
    page.get_by_role("status").wait_for()
    assert page.get_by_text("No live sessions").is_visible()
    refreshed = httpx.post(
        portal_server.base_url + "/token",
        auth=(key, secret),
        data={"grant_type": "refresh_token", "refresh_token": pair["refresh_token"]},
        timeout=30,
    )
    assert refreshed.status_code == 400 and refreshed.json()["error"] == "invalid_grant"
    me = httpx.get(
        portal_server.base_url + "/profiles/v2/me",
        headers={"Authorization": f"Bearer {pair['access_token']}"},
        timeout=30,
    )
    assert me.status_code == 401


def test_delete_asks_for_the_name_and_the_api_sees_it_gone(
    portal_server, portal_user, page, cli
) -> None:
    user = portal_user()
    sign_in(page, portal_server.base_url, user, "/portal/clients")
    name = unique_name("del")
    key, secret = _create_in_portal(page, portal_server, name)
    _goto(page, portal_server, f"/portal/clients/{name}/delete")
    assert page.get_by_text("cannot be undone").is_visible()
    page.get_by_label("To confirm, type the client's name").fill(name + "x")
    page.get_by_role("button", name="Delete this client").click()
    page.get_by_role("alert").wait_for()
    assert "exactly" in page.get_by_role("alert").inner_text()
    page.shot("delete-wrong-name")
    page.get_by_label("To confirm, type the client's name").fill(name)
    page.get_by_role("button", name="Delete this client").click()
    page.get_by_role("status").wait_for()
    assert f"Client {name} deleted" in page.get_by_role("status").inner_text()
    listed = cli.as_user(user, "clients", "list", "--json")
    assert name not in [c["name"] for c in listed.json()]
    gone = httpx.post(
        portal_server.base_url + "/token",
        auth=(key, secret),
        data={"grant_type": "client_credentials"},
        timeout=30,
    )
    assert gone.status_code == 401


def test_a_client_made_by_the_cli_shows_in_the_portal(
    portal_server, portal_user, page, cli
) -> None:
    user = portal_user()
    name = unique_name("fromcli")
    made = cli.as_user(user, "clients", "create", "-N", name, "-D", "from the shell", "--json")
    assert made.code == 0, str(made)
    sign_in(page, portal_server.base_url, user, "/portal/clients")
    row = page.get_by_role("row", name=re.compile(name))
    assert row.is_visible() and "from the shell" in row.inner_text()
    assert made.json()["consumerKey"] in row.inner_text()


def test_validation_messages_are_next_to_the_field(portal_server, portal_user, page) -> None:
    user = portal_user()
    sign_in(page, portal_server.base_url, user, "/portal/clients/new")
    page.get_by_label("Name").fill("my client")  # a space: not allowed
    page.get_by_role("button", name="Create client").click()
    error = page.locator("#name-error")
    error.wait_for()
    assert "Invalid clientName 'my client'" in error.inner_text()
    assert page.get_by_label("Name").get_attribute("aria-invalid") == "true"
    page.shot("create-invalid-name")
    page.get_by_label("Name").fill(unique_name("ok"))
    page.get_by_label("Callback URL").fill("not a url")
    page.get_by_role("button", name="Create client").click()
    page.locator("#callbackUrl-error").wait_for()
    assert "callbackUrl" in page.locator("#callbackUrl-error").inner_text()


# Each form's failures, each shown next to the input it is about (the services name the field
# on the error; the page does not read the message): (page, {label: value}, button, the input,
# words of the message). "{taken}" is a name that already exists.
FORM_FAILURES = [
    ("/portal/clients/new", {"Name": "{taken}"}, "Create client", "name", "already exists"),
    ("/portal/clients/new", {"Description": "a\tb"}, "Create client", "description", "control"),
    (
        "/portal/clients/new",
        {"Callback URL": "no-scheme"},
        "Create client",
        "callbackUrl",
        "absolute",
    ),
    ("/portal/admin/users", {"Username": "{taken}"}, "Add user", "username", "already exists"),
    ("/portal/admin/users", {"Password": "short"}, "Add user", "password", "too short"),
    (
        "/portal/admin/users",
        {"E-mail": "x" * 250 + "@example.org"},
        "Add user",
        "email",
        "too long",
    ),
    ("/portal/admin/users", {"First name": "Ann\tLee"}, "Add user", "first_name", "control"),
    ("/portal/admin/users", {"Last name": "Lee\x7f"}, "Add user", "last_name", "control"),
    ("/portal/admin/apis", {"Name": "bad name"}, "Add API", "name", "invalid API name"),
    ("/portal/admin/apis", {"Version": "v 2"}, "Add API", "version", "invalid version"),
    ("/portal/admin/apis", {"Provider": "a/b"}, "Add API", "provider", "invalid provider"),
    ("/portal/admin/apis", {"Context": "/a/../b"}, "Add API", "context", "Invalid context"),
    ("/portal/admin/apis", {"Backend URL": "ftp://x"}, "Add API", "backend", "backend URL"),
    (
        "/portal/admin/apis",
        {"Context": "/token", "Backend URL": "http://127.0.0.1:9"},
        "Add API",
        "context",
        "overlaps",
    ),
]
# What the rest of each form holds: valid values, so that only the case's field fails.
VALID = {
    "/portal/clients/new": {"Name": "{new}"},
    "/portal/admin/users": {"Username": "{new}", "Password": "a-good-long-password"},
    "/portal/admin/apis": {"Name": "{api}"},
}


def test_every_form_failure_is_next_to_its_field(portal_server, portal_user, page) -> None:
    admin = portal_user(admin=True)
    taken = unique_name("taken")
    sign_in(page, portal_server.base_url, admin, "/portal/clients")
    _create_in_portal(page, portal_server, taken)
    portal_server.add_user(taken, "a-good-long-password")
    for path, values, button, field, words in FORM_FAILURES:
        _goto(page, portal_server, path)
        fills = {
            "{new}": unique_name("new"),
            "{taken}": taken,
            "{api}": "Api" + unique_name("")[-6:].replace("-", ""),
        }
        for label, value in {**VALID[path], **values}.items():
            # A label's first words (some go on with a hint in brackets).
            field_input = page.get_by_label(re.compile(rf"^{re.escape(label)}\b"))
            field_input.fill(fills.get(value, value))
        page.get_by_role("button", name=button).click()
        error = page.locator(f"#{field}-error")
        error.wait_for()
        assert words in error.inner_text(), (path, values)
        assert page.locator(".field-error").count() == 1, (path, values)
        assert page.locator(f"#{field}").get_attribute("aria-invalid") == "true", (path, values)


def test_another_users_client_is_a_404_page(portal_server, portal_user, page, cli) -> None:
    owner, other = portal_user(), portal_user()
    name = unique_name("theirs")
    assert cli.as_user(owner, "clients", "create", "-N", name, "--json").code == 0
    sign_in(page, portal_server.base_url, other, "/portal/clients")
    response = page.goto(portal_server.base_url + f"/portal/clients/{name}")
    assert response is not None and response.status == 404
    assert page.locator("h1").inner_text()  # a page, not JSON
    assert "application/json" not in (response.headers.get("content-type") or "")
    page.shot("not-yours-404")


def test_admin_pages_are_403_for_a_normal_user(portal_server, portal_user, page) -> None:
    sign_in(page, portal_server.base_url, portal_user(), "/portal/clients")
    for path in ("/portal/admin/users", "/portal/admin/apis", "/portal/admin/failed-logins"):
        response = page.goto(portal_server.base_url + path)
        assert response is not None and response.status == 403, path
        assert "administrators" in page.locator("main").inner_text()
    page.shot("admin-403")
    # And the admin's links are not in the normal user's navigation.
    assert page.get_by_role("link", name="Users").count() == 0


def test_admin_manages_users_apis_and_sees_failed_logins(portal_server, portal_user, page) -> None:
    admin, victim = portal_user(admin=True), portal_user()
    # Two failed sign-ins of the victim, through the API.
    for _ in range(2):
        httpx.get(
            portal_server.base_url + "/clients/v2", auth=(victim.username, "wrong"), timeout=30
        )
    sign_in(page, portal_server.base_url, admin, "/portal/admin/failed-logins")
    row = page.get_by_role("row", name=re.compile(victim.username))
    assert "2" in row.inner_text()
    page.shot("admin-failed-logins")

    _goto(page, portal_server, "/portal/admin/users")
    page.shot("admin-users")
    new_name = unique_name("added")
    page.get_by_label("Username").fill("bad name")
    page.get_by_label("Password", exact=True).fill("a-good-long-password")
    page.get_by_role("button", name="Add user").click()
    page.locator("#username-error").wait_for()
    assert "Invalid username 'bad name'" in page.locator("#username-error").inner_text()
    page.get_by_label("Username").fill(new_name)
    page.get_by_label("Password", exact=True).fill("a-good-long-password")
    page.get_by_role("button", name="Add user").click()
    page.get_by_role("status").wait_for()
    assert (
        httpx.get(
            portal_server.base_url + "/clients/v2",
            auth=(new_name, "a-good-long-password"),
            timeout=30,
        ).status_code
        == 200
    )

    # Disable the victim: Basic refused; enable: accepted again.
    page.get_by_role("button", name=f"Disable {victim.username}").click()
    page.get_by_role("status").wait_for()
    basic = httpx.get(portal_server.base_url + "/clients/v2", auth=victim.auth, timeout=30)
    assert basic.status_code == 403 and "disabled" in basic.text
    page.get_by_role("button", name=f"Enable {victim.username}").click()
    page.get_by_role("status").wait_for()
    assert (
        httpx.get(portal_server.base_url + "/clients/v2", auth=victim.auth, timeout=30).status_code
        == 200
    )

    # A reset link works once.
    page.get_by_role("button", name=f"Password reset link for {victim.username}").click()
    link = page.locator("#reset-link").inner_text().strip()
    assert link.startswith(portal_server.base_url + "/portal/reset/")
    page.shot("admin-reset-link")
    other = page.context.browser.new_context()
    tab = other.new_page()
    tab.goto(link)
    tab.get_by_label("New password").fill("brand-new-password-1")
    tab.get_by_label("The same password again").fill("brand-new-password-1")
    tab.get_by_role("button", name="Set password").click()
    tab.get_by_label("Username").wait_for()  # back at the sign-in page
    assert (
        httpx.get(
            portal_server.base_url + "/clients/v2",
            auth=(victim.username, "brand-new-password-1"),
            timeout=30,
        ).status_code
        == 200
    )
    again = tab.goto(link)
    assert again is not None and again.status == 404
    other.close()

    # The catalogue: add an API, mark it default, remove it.
    _goto(page, portal_server, "/portal/admin/apis")
    api = "Widgets" + unique_name("")[-6:].replace("-", "")
    page.get_by_label("Name", exact=True).fill(api)
    page.get_by_role("button", name="Add API").click()
    page.get_by_role("status").wait_for()
    page.shot("admin-apis")
    page.get_by_role("button", name=f"Subscribe new clients to {api}").click()
    page.get_by_role("status").wait_for()
    assert "is now a default API" in page.get_by_role("status").inner_text()
    page.get_by_role("button", name=f"Remove {api} v2").click()
    page.get_by_role("status").wait_for()
    assert page.get_by_role("button", name=f"Remove {api} v2").count() == 0


def test_a_post_without_the_csrf_token_is_refused(portal_server, portal_user, page) -> None:
    user = portal_user()
    sign_in(page, portal_server.base_url, user, "/portal/clients")
    name = unique_name("csrf")
    _create_in_portal(page, portal_server, name)
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    refused = httpx.post(
        portal_server.base_url + f"/portal/clients/{name}/delete",
        data={"confirm": name},
        cookies=cookies,
        timeout=30,
    )
    assert refused.status_code == 403
    assert "text/html" in refused.headers["content-type"]
    # The client is still there.
    _goto(page, portal_server, f"/portal/clients/{name}")
    assert page.get_by_role("heading", name=f"Client {name}").is_visible()


@pytest.mark.parametrize("width", [375])
def test_pages_fit_a_phone(portal_server, portal_user, page, width) -> None:
    user = portal_user()
    page.set_viewport_size({"width": width, "height": 800})
    sign_in(page, portal_server.base_url, user, "/portal/clients")
    name = unique_name("phone")
    _create_in_portal(page, portal_server, name)
    _goto(page, portal_server, f"/portal/clients/{name}")
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 1, overflow
    page.shot("client-page-phone")
