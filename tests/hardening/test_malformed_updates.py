"""Malformed input on the client-changing endpoints (``PUT /clients/v2/{name}``, ``POST
/clients/v2/{name}/secret``): every one a clear JSON 4xx that names the problem, never a 5xx
or a trace, and the client exactly as it was (same record, same secret, tokens alive).

The table holds the cases a person thinks of; hypothesis then sends arbitrary field values.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import User, unique_name
from tests.hardening.api import OAuthClient, create_client, password_grant
from tests.hardening.test_malformed import MAX_BODY, assert_clear_error
from tests.support.server import ServerProcess

FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
JSON = {"Content-Type": "application/json"}


@pytest.fixture(scope="module")
def user(server: ServerProcess) -> User:
    user = User(unique_name("upd"), "pw-" + unique_name())
    server.add_user(user.username, user.password)
    return user


@pytest.fixture(scope="module")
def target(server: ServerProcess, user: User) -> OAuthClient:
    with server.client() as http:
        client = create_client(http, user)
        r = http.put(
            f"/clients/v2/{client.name}",
            auth=user.auth,
            data={"description": "as it was", "callbackUrl": "https://app.example.org/cb"},
        )
        assert r.status_code == 200, r.text
        return client


@pytest.fixture
def unchanged(http, user, target):
    """The test's bad requests must leave the client exactly as it was, secret included."""
    before = http.get(f"/clients/v2/{target.name}", auth=user.auth).json()["result"]
    yield
    assert http.get(f"/clients/v2/{target.name}", auth=user.auth).json()["result"] == before
    assert password_grant(http, target, user).status_code == 200


BAD_UPDATES = {
    "truncated json": (JSON, b'{"description": "x"', r"json"),
    "json array": (JSON, b'["description", "x"]', r"object"),
    "tier a number": (JSON, b'{"tier": 5}', r"tier.*string"),
    "tier a list": (JSON, b'{"tier": ["Gold"]}', r"tier.*string"),
    "javascript callback": (FORM, b"callbackUrl=javascript:alert(1)", r"callbackUrl.*http"),
    "data callback": (FORM, b"callbackUrl=data:text/html,hi", r"callbackUrl.*http"),
    "schemeless callback": (FORM, b"callbackUrl=//evil.example/cb", r"callbackUrl.*http"),
    "callback with fragment": (FORM, b"callbackUrl=https://a.org/cb%23x", r"callbackUrl.*fragment"),
    "callback with NUL": (FORM, b"callbackUrl=https://a.org/%00", r"callbackUrl|NUL|control"),
    "callback with newline": (FORM, b"callbackUrl=https://a.org/%0d%0aX:1", r"callbackUrl|control"),
    "callback bad port": (FORM, b"callbackUrl=https://a.org:99999/cb", r"callbackUrl"),
    "callback bracket host": (FORM, b"callbackUrl=http://[::1/cb", r"callbackUrl"),
    "callback too long": (FORM, b"callbackUrl=https://a.org/" + b"p" * 3000, r"callbackUrl.*long"),
    "logout javascript": (
        FORM,
        b"postLogoutRedirectUri=javascript:alert(1)",
        r"postLogoutRedirectUri.*http",
    ),
    "empty tier": (FORM, b"tier=", r"tier.*Bronze"),
    "unknown tier": (FORM, b"tier=Platinum", r"tier.*Bronze"),
    "description control chars": (FORM, b"description=a%1b[31m", r"description.*control"),
    "duplicated field": (FORM, b"tier=Gold&tier=Silver", r"tier.*more than once"),
    "rename": (FORM, b"clientName=other&description=x", r"renamed"),
    "nothing known": (FORM, b"color=blue", r"Nothing to change"),
    "empty body": (FORM, b"", r"Nothing to change"),
    "one bad field among good": (
        FORM,
        b"description=fine&callbackUrl=ftp://a.org/x",
        r"callbackUrl",
    ),
}


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("headers,body,says", BAD_UPDATES.values(), ids=BAD_UPDATES.keys())
def test_bad_updates_are_a_clear_400(http, user, target, headers, body, says) -> None:
    res = http.put(f"/clients/v2/{target.name}", auth=user.auth, content=body, headers=headers)
    assert_clear_error(res, 400, says)


@pytest.mark.usefixtures("unchanged")
def test_wrong_content_type_and_oversized_bodies(http, user, target) -> None:
    for path, method in (
        (f"/clients/v2/{target.name}", "PUT"),
        (f"/clients/v2/{target.name}/secret", "POST"),
    ):
        res = http.request(
            method,
            path,
            auth=user.auth,
            content=b"<x/>",
            headers={"Content-Type": "application/xml"},
        )
        assert_clear_error(res, 415, r"content.type|form|json")
        big = b"description=" + b"x" * (MAX_BODY + 1)
        res = http.request(method, path, auth=user.auth, content=big, headers=FORM)
        assert_clear_error(res, 413, r"large|bytes|limit")
    res = http.post(f"/clients/v2/{target.name}/secret", auth=user.auth, content=b"{", headers=JSON)
    assert_clear_error(res, 400, r"json")


ODD_NAMES = ["%00", "..%2F..%2Fetc", "a%2Fb", "a" * 5000, "%ff%fe", "has%20space"]


@pytest.mark.usefixtures("unchanged")
@pytest.mark.parametrize("name", ODD_NAMES, ids=range(len(ODD_NAMES)))
def test_odd_names_are_4xx_json(http, user, name) -> None:
    for method, path in (("PUT", f"/clients/v2/{name}"), ("POST", f"/clients/v2/{name}/secret")):
        res = http.request(method, path, auth=user.auth, data={"description": "x"})
        assert 400 <= res.status_code < 500, (method, path[:60], res.status_code, res.text)
        assert res.json()["status"] == "error"


@pytest.mark.usefixtures("unchanged")
def test_bad_credentials_change_nothing(http, user, target) -> None:
    for auth in (None, (user.username, "wrong"), (target.key, target.secret)):
        for method, path in (
            ("PUT", f"/clients/v2/{target.name}"),
            ("POST", f"/clients/v2/{target.name}/secret"),
        ):
            res = http.request(method, path, auth=auth, data={"description": "hijacked"})
            assert_clear_error(res, 401, r"credential|password|username|basic|invalid")


@FUZZ
@given(
    fields=st.dictionaries(
        st.sampled_from(["description", "callbackUrl", "tier", "postLogoutRedirectUri", "name"]),
        st.text(max_size=120),
        min_size=1,
        max_size=4,
    )
)
def test_any_update_is_a_2xx_or_a_clear_4xx(http, user, target, fields) -> None:
    res = http.put(f"/clients/v2/{target.name}", auth=user.auth, json=fields)
    assert res.status_code in (200, 400), (res.status_code, res.text)
    assert "Traceback" not in res.text
    body = res.json()
    if res.status_code == 200:
        shown = http.get(f"/clients/v2/{target.name}", auth=user.auth).json()["result"]
        assert body["result"] == shown
    else:
        assert body["status"] == "error" and body["message"]
