"""``agave clients update`` and ``agave clients reset-secret`` against the real server."""

from __future__ import annotations

from tests.conftest import unique_name


def test_update_changes_only_what_is_given(logged_in):
    agave, user, created = logged_in
    name = created["name"]
    res = agave.as_user(
        user,
        "clients",
        "update",
        name,
        "-C",
        "https://portal.example.org/cb",
        "-T",
        "gold",
        "--post-logout-redirect-uri",
        "https://portal.example.org/bye",
        "--json",
    )
    assert res.code == 0, str(res)
    client = res.json()
    assert (client["name"], client["callbackUrl"], client["tier"]) == (
        name,
        "https://portal.example.org/cb",
        "Gold",
    )
    assert client["postLogoutRedirectUri"] == "https://portal.example.org/bye"
    assert client["description"] == created["description"]
    assert "consumerSecret" not in client
    shown = agave.as_user(user, "clients", "show", name, "--json").json()
    assert shown["callbackUrl"] == "https://portal.example.org/cb"
    # Without a name: the session's client; a table for people.
    res = agave.as_user(user, "clients", "update", "-D", "lab portal")
    assert res.code == 0, str(res)
    assert "Client updated" in res.out and "lab portal" in res.out
    assert "post-logout redirect  https://portal.example.org/bye" in res.out
    # The session's token was not touched.
    assert agave.ok("whoami", "--json").json()["username"] == user.username


def test_update_errors_are_one_line(logged_in):
    agave, user, created = logged_in
    res = agave.as_user(user, "clients", "update", created["name"])
    assert res.code == 2 and "nothing to change" in res.err and "Traceback" not in res.err
    res = agave.as_user(user, "clients", "update", created["name"], "-C", "ftp://x.org/cb")
    assert res.code == 1, str(res)
    line = res.err.strip()
    assert len(line.splitlines()) == 1
    assert "callbackUrl" in line and "http:// or https://" in line and "HTTP 400" in line
    res = agave.as_user(user, "clients", "update", created["name"], "-T", "platinum")
    assert res.code == 2 and "platinum" in res.err.lower()
    res = agave.as_user(user, "clients", "update", "nosuch", "-D", "x", "--json")
    assert res.code == 1 and res.json()["error"]["status"] == 404


def test_reset_secret_of_the_session_client(logged_in):
    agave, user, created = logged_in
    old_token = agave.current()["access_token"]
    res = agave.as_user(user, "clients", "reset-secret", "--json")
    assert res.code == 0, str(res)
    client = res.json()
    assert client["consumerKey"] == created["consumerKey"]
    assert client["consumerSecret"] and client["consumerSecret"] != created["consumerSecret"]
    assert "shown only now" in res.err and "now uses the new secret" in res.err
    current = agave.current()
    assert current["apisecret"] == client["consumerSecret"]
    assert current["access_token"] == ""
    saved = agave.config()["sessions"]["sd2e"][user.username][created["name"]]
    assert saved["apisecret"] == client["consumerSecret"]
    # The old token is dead on the server; a new one comes with the new secret.
    with agave.server.client() as http:
        r = http.get("/profiles/v2/me", headers={"Authorization": f"Bearer {old_token}"})
        assert r.status_code == 401
    assert agave.as_user(user, "tokens", "create", "-q").code == 0
    assert agave.ok("whoami", "--json").json()["username"] == user.username


def test_reset_secret_of_another_client_shows_it_and_keeps_the_session(logged_in):
    agave, user, _created = logged_in
    other = unique_name("other")
    made = agave.as_user(user, "clients", "create", "-N", other, "--json").json()
    agave.as_user(user, "clients", "create", "-N", unique_name("back"), "-q")  # session's again
    agave.as_user(user, "tokens", "create", "-q")
    before = agave.current()
    res = agave.as_user(user, "clients", "reset-secret", other)
    assert res.code == 0, str(res)
    assert "consumer secret" in res.out and made["consumerKey"] in res.out
    assert "now uses the new secret" not in res.err
    assert agave.current() == before
    res = agave.as_user(user, "clients", "reset-secret", "nosuch")
    assert res.code == 1 and "nosuch" in res.err
