"""RFC 8628 against the real server: polling answers, slow_down kept across processes,
expiry, denial, single redemption, throttled wrong codes, and the built-in client's limits."""

from __future__ import annotations

import signal
import time

import httpx
import pytest

from tests.conftest import User, unique_name
from tests.device.conftest import (
    FAST_POLLING,
    approve_in_browser,
    approve_over_http,
    cli_for,
    device_authorize,
    finish,
    poll,
    start_login,
)
from tests.support.server import ServerProcess


def _error(answer: httpx.Response) -> str:
    return answer.json().get("error", "")


def test_device_authorization_answer(device_server, http_client):
    got = device_authorize(http_client)
    assert set(got) >= {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    code = got["user_code"]
    assert len(code) == 9 and code[4] == "-"
    assert set(code.replace("-", "")) <= set("BCDFGHJKLMNPQRSTVWXZ")
    assert got["verification_uri"] == device_server.base_url + "/device"
    assert got["verification_uri_complete"] == f"{got['verification_uri']}?user_code={code}"
    assert got["expires_in"] == 600 and got["interval"] == 1
    assert _error(poll(http_client, got["device_code"])) == "authorization_pending"


@pytest.mark.parametrize(
    "document", ["/.well-known/openid-configuration", "/.well-known/oauth-authorization-server"]
)
def test_discovery_advertises_the_device_grant(device_server, http_client, document):
    doc = http_client.get(document).json()
    assert (
        doc["device_authorization_endpoint"] == device_server.base_url + "/oauth2/device/authorize"
    )
    assert "urn:ietf:params:oauth:grant-type:device_code" in doc["grant_types_supported"]
    assert "none" in doc["token_endpoint_auth_methods_supported"]
    assert "client_secret_basic" in doc["token_endpoint_auth_methods_supported"]


def test_user_code_is_typed_case_and_dash_insensitively(device_server, person, http_client):
    user = person()
    got = device_authorize(http_client)
    typed = got["user_code"].replace("-", " ").lower()
    approve_over_http(device_server.base_url, user, typed)
    answer = poll(http_client, got["device_code"])
    assert answer.status_code == 200, answer.text
    assert _me(device_server, answer.json()["access_token"]) == user.username


def test_code_redeemed_once(device_server, person, http_client):
    user = person()
    got = device_authorize(http_client)
    approve_over_http(device_server.base_url, user, got["user_code"])
    first = poll(http_client, got["device_code"])
    assert first.status_code == 200 and first.json()["refresh_token"]
    second = poll(http_client, got["device_code"])
    assert second.status_code == 400 and _error(second) == "invalid_grant"
    assert "already used" in second.json()["error_description"]
    # The tokens of the one redemption keep working; refresh uses the public client too.
    refreshed = http_client.post(
        "/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": first.json()["refresh_token"],
            "client_id": "agave-cli",
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    # As agavepy 0.9.5 and the Bash agave-cli refresh a saved login: HTTP Basic with the
    # session's apikey and its empty apisecret, posted to baseurl + "/token" ("//token").
    old_tools = http_client.post(
        device_server.base_url + "//token",
        data={"grant_type": "refresh_token", "refresh_token": refreshed.json()["refresh_token"]},
        auth=("agave-cli", ""),
    )
    assert old_tools.status_code == 200, old_tools.text
    assert old_tools.json()["token_type"] == "bearer"


def test_denied_in_the_browser_ends_agave_login(device_server, person, cli, page):
    user = person()
    child, code, complete = start_login(cli, "--tenant", "sd2e")
    approve_in_browser(page, complete, code, user, "Deny")
    status, out = finish(child)
    assert status == 1, out
    assert "denied" in out and "Traceback" not in out
    assert not (cli.cache_dir / "current").exists()


def test_ctrl_c_stops_cleanly(cli):
    child, _code, _complete = start_login(cli, "--tenant", "sd2e")
    child.kill(signal.SIGINT)
    status, out = finish(child)
    assert status == 130, out
    assert "login cancelled; nothing was saved" in out and "Traceback" not in out
    assert not (cli.cache_dir / "current").exists()


def test_unknown_or_foreign_device_code(device_server, person, http_client):
    answer = poll(http_client, "no-such-device-code")
    assert answer.status_code == 400 and _error(answer) == "invalid_grant"
    user = person()
    key, secret = _own_client(http_client, user)
    got = device_authorize(http_client)  # the CLI's code, polled with another client
    answer = poll(http_client, got["device_code"], auth=(key, secret))
    assert answer.status_code == 400 and _error(answer) == "invalid_grant"


def test_any_client_with_key_and_secret(device_server, person, http_client):
    """A gateway's kiosk: its own client, another user approves on the page."""
    owner, visitor = person(), person()
    key, secret = _own_client(http_client, owner)
    got = device_authorize(http_client, auth=(key, secret))
    approve_over_http(device_server.base_url, visitor, got["user_code"])
    answer = poll(http_client, got["device_code"], auth=(key, secret))
    assert answer.status_code == 200, answer.text
    assert _me(device_server, answer.json()["access_token"]) == visitor.username
    wrong = http_client.post(
        "/oauth2/device/authorize", data={"client_id": key}, auth=(key, "not-the-secret")
    )
    assert wrong.status_code == 401 and _error(wrong) == "invalid_client"


def test_built_in_client_is_the_tenants_not_a_users(device_server, person, http_client):
    tenant = http_client.get("/tenants/sd2e").json()["result"]
    assert tenant["cliClientId"] == "agave-cli"
    user = person()
    for method in ("GET", "DELETE"):
        answer = http_client.request(method, "/clients/v2/agave-cli", auth=user.auth)
        assert answer.status_code == 404, answer.text
    listed = http_client.get("/clients/v2", auth=user.auth).json()["result"]
    assert "agave-cli" not in {c["name"] for c in listed}
    password = http_client.post(
        "/token",
        data={
            "grant_type": "password",
            "username": user.username,
            "password": user.password,
            "client_id": "agave-cli",
        },
    )
    assert password.status_code == 400 and _error(password) == "unauthorized_client"
    secret = http_client.post(
        "/oauth2/device/authorize", data={"client_id": "agave-cli", "client_secret": "x"}
    )
    assert secret.status_code == 401, secret.text


def test_clients_api_takes_only_login_tokens(device_server, person, http_client):
    user = person()
    key, secret = _own_client(http_client, user)
    pair = http_client.post(
        "/token",
        data={"grant_type": "password", "username": user.username, "password": user.password},
        auth=(key, secret),
    ).json()
    other = http_client.get(
        "/clients/v2", headers={"Authorization": f"Bearer {pair['access_token']}"}
    )
    assert other.status_code == 401 and "agave login" in other.json()["message"]
    junk = http_client.get("/clients/v2", headers={"Authorization": "Bearer nope"})
    assert junk.status_code == 401 and "invalid_token" in junk.headers["www-authenticate"]


def test_wrong_user_codes_are_throttled_per_address(make_server, tmp_path):
    srv = make_server(env={**FAST_POLLING, "AGAVE_SERVER_LOGIN_MAX_FAILURES": "3"})
    with srv.client() as http:
        good = device_authorize(http)["user_code"]
    with httpx.Client(base_url=srv.base_url, timeout=30) as web:
        for _ in range(3):
            page = web.get("/device")
            token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
            wrong = web.post("/device", data={"csrf_token": token, "user_code": "BBBB-BBBB"})
            assert wrong.status_code == 400
            assert wrong.headers["content-type"].startswith("text/html")
            assert "not valid" in wrong.text
        blocked = web.post("/device", data={"csrf_token": token, "user_code": good})
        assert blocked.status_code == 429 and blocked.headers["content-type"].startswith(
            "text/html"
        )
        assert "Too many" in blocked.text


def test_slow_down_grows_the_interval_across_processes(make_server):
    srv = make_server(env=FAST_POLLING)
    with srv.client() as http:
        got = device_authorize(http)
        assert _error(poll(http, got["device_code"])) == "authorization_pending"
        for _ in range(4):  # each poll that comes too soon adds 5 s: 1 -> 6 -> 11 -> 16 -> 21
            assert _error(poll(http, got["device_code"])) == "slow_down"
        last_poll = time.monotonic()
    srv.stop()
    srv.start()  # another process: only the database remembers the interval
    time.sleep(max(0.0, 2 - (time.monotonic() - last_poll)))
    with srv.client() as http:
        # Longer than the first interval (1 s), shorter than the grown one (21 s).
        assert 2 <= time.monotonic() - last_poll < 21
        assert _error(poll(http, got["device_code"])) == "slow_down"


def test_expired_code_ends_agave_login(make_server, tmp_path):
    srv = make_server(env={**FAST_POLLING, "AGAVE_SERVER_DEVICE_CODE_LIFETIME": "2"})
    cli = cli_for(srv, tmp_path / "expiring")
    child, _code, _complete = start_login(cli, "--tenant", "sd2e")
    status, out = finish(child)
    assert status == 1, out
    assert "the code expired before it was approved" in out and "Traceback" not in out
    with srv.client() as http:
        got = device_authorize(http)
        time.sleep(3)
        assert _error(poll(http, got["device_code"])) == "expired_token"


# -- helpers -------------------------------------------------------------------------------


@pytest.fixture
def http_client(device_server: ServerProcess):
    with device_server.client() as c:
        yield c


def _own_client(http: httpx.Client, user: User) -> tuple[str, str]:
    made = http.post("/clients/v2", data={"clientName": unique_name("kiosk")}, auth=user.auth)
    assert made.status_code == 201, made.text
    result = made.json()["result"]
    return result["consumerKey"], result["consumerSecret"]


def _me(server: ServerProcess, token: str) -> str:
    with server.client() as http:
        answer = http.get("/profiles/v2/me", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()["result"]["username"]


@pytest.mark.parametrize(
    ("method", "path", "kw", "status"),
    [
        ("POST", "/oauth2/device/authorize", {}, 401),  # no client at all
        ("POST", "/oauth2/device/authorize", {"data": {"client_id": "nobody"}}, 401),
        ("POST", "/oauth2/device/authorize", {"headers": {"Authorization": "Basic %%%"}}, 401),
        (
            "POST",
            "/token",
            {"data": {"grant_type": "urn:ietf:params:oauth:grant-type:device_code"}},
            400,
        ),
        ("POST", "/device", {"data": {"user_code": "BCDF-GHJK"}}, 403),  # no CSRF token
        ("GET", "/device", {"params": {"user_code": "\x00" * 5000}}, 200),
        ("GET", "/device/approve", {"params": {"user_code": "x"}}, 303),  # not signed in
        ("POST", "/device/approve", {"data": {"decision": "allow"}}, 403),
    ],
)
def test_malformed_input_is_a_clear_4xx(http_client, method, path, kw, status):
    answer = http_client.request(method, path, **kw)
    assert answer.status_code == status, answer.text[:300]
    assert "Traceback" not in answer.text
    if path.startswith("/device"):
        assert answer.status_code == 303 or answer.headers["content-type"].startswith("text/html")


def test_jwt_tenant_device_login_and_clients_api(make_server):
    """With RFC 9068 access tokens the device grant issues JWTs, and the clients API takes them."""
    srv = make_server(env=FAST_POLLING)
    srv.admin("tenants", "update", "sd2e", "--access-token-format", "jwt")
    user = User("jwtuser", "pw-jwt-user-1")
    srv.add_user(user.username, user.password)
    with srv.client() as http:
        got = device_authorize(http)
        approve_over_http(srv.base_url, user, got["user_code"])
        pair = poll(http, got["device_code"]).json()
        assert pair["access_token"].count(".") == 2  # a JWT
        bearer = {"Authorization": f"Bearer {pair['access_token']}"}
        made = http.post("/clients/v2", data={"clientName": "from_jwt"}, headers=bearer)
        assert made.status_code == 201, made.text
        listed = http.get("/clients/v2", headers=bearer).json()["result"]
        assert [c["name"] for c in listed] == ["from_jwt"]
        http.post("/revoke", data={"token": pair["access_token"], "client_id": "agave-cli"})
        assert http.get("/clients/v2", headers=bearer).status_code == 401
