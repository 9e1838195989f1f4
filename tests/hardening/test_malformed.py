"""Malformed requests: every one gets a clear 4xx whose message names the
problem, never a 5xx, never a stack trace, never a half-created client.

A table covers the cases a person thinks of; hypothesis then throws arbitrary
text and bytes at the same places.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import User, unique_name
from tests.hardening.api import OAuthClient, client_name, create_client, error_message, login
from tests.support.server import ServerProcess

MAX_BODY = 65536
FUZZ = settings(
    max_examples=40,
    derandomize=True,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest.fixture(scope="module")
def user(server: ServerProcess) -> User:
    """One user for the whole module: creating users (argon2) is what costs time here."""
    user = User(unique_name("mal"), "pw-" + unique_name())
    server.add_user(user.username, user.password)
    return user


@pytest.fixture(scope="module")
def token_client(server: ServerProcess, user: User) -> OAuthClient:
    with server.client() as http:
        return create_client(http, user)


def client_count(http: httpx.Client, user: User) -> int:
    return len(http.get("/clients/v2", auth=user.auth, params={"limit": 10000}).json()["result"])


@pytest.fixture
def nothing_created(http: httpx.Client, user: User) -> Iterator[None]:
    """The test's bad requests must not leave a client behind, whole or half."""
    before = client_count(http, user)
    yield
    assert client_count(http, user) == before


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


def assert_clear_error(res: httpx.Response, status: int | tuple[int, ...], names: str) -> None:
    """A JSON error with the expected status whose text matches ``names`` (a regex)."""
    statuses = (status,) if isinstance(status, int) else status
    assert res.status_code in statuses, (res.status_code, res.text)
    assert res.headers["content-type"].startswith("application/json"), res.headers
    text = error_message(res)
    assert re.search(names, text, re.IGNORECASE), f"{text!r} does not match {names!r}"
    assert "Traceback" not in res.text


# -- HTTP Basic on the clients service -----------------------------------------------------

BROKEN_BASIC = {
    "not base64": "Basic !!!not*base64!!!",
    "no colon": "Basic " + b64(b"usernameonly"),
    "not UTF-8": "Basic " + b64(b"\xff\xfe:\xc3\x28"),
    "empty username": "Basic " + b64(b":password"),
    "empty password": "Basic " + b64(b"someone:"),
    "both empty": "Basic " + b64(b":"),
    "no credentials": "Basic",
    "huge": "Basic " + b64(b"u" * 3000 + b":" + b"p" * 3000),
    "other scheme": "Digest username=someone",
    "bearer instead": "Bearer abcdef",
    "control chars": "Basic " + b64(b"us\x00er:pa\x1bss"),
    "sql in username": "Basic " + b64(b"x' OR '1'='1' --:pw"),
}


@pytest.mark.parametrize("header", BROKEN_BASIC.values(), ids=BROKEN_BASIC.keys())
def test_broken_basic_header_is_401(http: httpx.Client, header: str) -> None:
    res = http.get("/clients/v2", headers={"Authorization": header})
    assert_clear_error(res, 401, r"credential|authori[sz]|username|password|basic")
    assert res.headers["WWW-Authenticate"].lower().startswith("basic")


def test_missing_basic_header_is_401(http: httpx.Client) -> None:
    res = http.post("/clients/v2", data={"clientName": client_name()})
    assert_clear_error(res, 401, r"credential|authori[sz]|username|password|basic")


@pytest.mark.parametrize("header", BROKEN_BASIC.values(), ids=BROKEN_BASIC.keys())
def test_broken_basic_header_on_token_is_invalid_client(http: httpx.Client, header: str) -> None:
    res = http.post("/token", headers={"Authorization": header}, data={"grant_type": "password"})
    assert_clear_error(res, 401, r"client")
    assert res.json()["error"] == "invalid_client"


# -- bearer tokens -------------------------------------------------------------------------

BEARER_JUNK: dict[str, str | bytes] = {
    "no token": "Bearer",
    "two tokens": "Bearer abc def",
    "huge": "Bearer " + "A" * 7000,
    "not ascii": b"Bearer \xff\xfe\xfd",
    "punctuation": "Bearer ../../etc/passwd'; DROP TABLE tokens;--",
    "wrong scheme": "Basic " + b64(b"a:b"),
    "lower-case junk": "bearer 0000",
    # JWT-shaped junk: the bearer validator must refuse it without a trace.
    "jwt of empty parts": "Bearer ey..",
    "jwt of junk parts": "Bearer eyJhbGciOi.eyJzdWIiOi.c2ln",
    "jwt alg none": "Bearer "
    + b64(b'{"alg":"none","typ":"at+jwt"}').rstrip("=")
    + "."
    + b64(b'{"sub":"admin","exp":9999999999}').rstrip("=")
    + ".",
    "jwt with unknown kid": "Bearer "
    + b64(b'{"alg":"RS256","typ":"at+jwt","kid":"nope"}').rstrip("=")
    + ".e30.c2ln",
    "jwt with a non-string kid": "Bearer "
    + b64(b'{"alg":"RS256","typ":"at+jwt","kid":{"a":1}}').rstrip("=")
    + ".e30.c2ln",
    "jwt header not json": "Bearer " + b64(b"{{{{").rstrip("=") + ".e30.c2ln",
    "huge jwt-like": "Bearer ey" + "A" * 9000 + ".eyA.sig",
}


@pytest.mark.parametrize("header", BEARER_JUNK.values(), ids=BEARER_JUNK.keys())
def test_bearer_junk_is_the_wso2_fault(http: httpx.Client, header: str | bytes) -> None:
    res = http.get("/profiles/v2/me", headers={"Authorization": header})
    assert res.status_code == 401, res.text
    assert res.json()["fault"]["code"] == "900901"
    assert res.headers["WWW-Authenticate"].startswith("Bearer")


# -- bodies --------------------------------------------------------------------------------

BAD_JSON = {
    "truncated": b'{"clientName": "x"',
    "not json": b"clientName=x",
    "array": b'["clientName", "x"]',
    "string": b'"clientName"',
    "number": b"42",
    "null": b"null",
    "bad utf-8": b'{"clientName": "\xff"}',
    "name not a string": b'{"clientName": {"$ne": null}}',
    "name a list": b'{"clientName": ["a", "b"]}',
}


@pytest.mark.usefixtures("nothing_created")
@pytest.mark.parametrize("body", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_invalid_json_is_400(http: httpx.Client, user, body: bytes) -> None:
    res = http.post(
        "/clients/v2",
        auth=user.auth,
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert_clear_error(res, 400, r"json|body|object|clientName|name")


@pytest.mark.parametrize("body", BAD_JSON.values(), ids=BAD_JSON.keys())
def test_invalid_json_on_token_is_invalid_request(
    http: httpx.Client, token_client: OAuthClient, body: bytes
) -> None:
    client = token_client
    res = http.post(
        "/token", auth=client.auth, content=body, headers={"Content-Type": "application/json"}
    )
    assert res.status_code == 400, res.text
    assert res.json()["error"] in ("invalid_request", "unsupported_grant_type")


WRONG_TYPES = {
    "text/plain": ("text/plain", b"clientName=x"),
    "xml": ("application/xml", b"<clientName>x</clientName>"),
    "octet-stream": ("application/octet-stream", b"\x00\x01\x02"),
    "garbage type": ("this is not a media type", b"clientName=x"),
}


@pytest.mark.usefixtures("nothing_created")
@pytest.mark.parametrize("ctype,body", WRONG_TYPES.values(), ids=WRONG_TYPES.keys())
def test_wrong_content_type_is_a_clear_4xx(http: httpx.Client, user, ctype: str, body: bytes):
    res = http.post("/clients/v2", auth=user.auth, content=body, headers={"Content-Type": ctype})
    assert_clear_error(res, (400, 415), r"content.type|media|form|json|clientName")


@pytest.mark.usefixtures("nothing_created")
def test_duplicated_form_fields_are_rejected(http: httpx.Client, user) -> None:
    res = http.post(
        "/clients/v2",
        auth=user.auth,
        content=f"clientName={client_name()}&clientName={client_name()}",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_clear_error(res, 400, r"clientName")


def test_duplicated_token_parameters_are_invalid_request(
    http: httpx.Client, user, token_client
) -> None:
    """RFC 6749 section 3.2: parameters MUST NOT be included more than once."""
    client = token_client
    res = http.post(
        "/token",
        auth=client.auth,
        content=(
            f"grant_type=password&grant_type=client_credentials&username={user.username}"
            f"&password={user.password}"
        ),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert res.status_code == 400, res.text
    assert res.json()["error"] == "invalid_request"
    assert "grant_type" in res.json()["error_description"]


# -- names, descriptions, sizes ------------------------------------------------------------

BAD_NAMES = {
    "empty": "",
    "space": "my client",
    "slash": "a/b",
    "dot-dot": "../x",
    "nul": "a\x00b",
    "newline": "a\nb",
    "unicode": "clïent",
    "emoji": "client-\U0001f600",
    "rtl override": "a\u202eb",
    "too long": "a" * 65,
    "percent": "a%2Fb",
    "question": "a?b=c",
}


@pytest.mark.usefixtures("nothing_created")
@pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
def test_client_names_outside_the_pattern_are_400(http: httpx.Client, user, name: str) -> None:
    for kw in ({"data": {"clientName": name}}, {"json": {"clientName": name}}):
        res = http.post("/clients/v2", auth=user.auth, **kw)
        assert_clear_error(res, 400, r"clientName|name")
        if name:
            assert re.search(r"A-Za-z0-9|A-Z a-z 0-9|NUL", error_message(res)), "states the rule"


def test_the_longest_allowed_name_works(http: httpx.Client, user) -> None:
    name = "a" * 63 + "Z"
    create_client(http, user, name)
    assert http.get(f"/clients/v2/{name}", auth=user.auth).status_code == 200


@pytest.mark.parametrize(
    "description",
    ["日本語の説明 ☃ café", 'quote " and back\\slash', "<script>alert(1)</script>"],
)
def test_unicode_descriptions_round_trip(http: httpx.Client, user, description: str) -> None:
    name = client_name()
    res = http.post(
        "/clients/v2", auth=user.auth, data={"clientName": name, "description": description}
    )
    assert res.status_code == 201, res.text
    shown = http.get(f"/clients/v2/{name}", auth=user.auth).json()["result"]
    assert shown["description"] == description


@pytest.mark.usefixtures("nothing_created")
@pytest.mark.parametrize(
    "description", ["nul\x00byte", "bell\x07", "escape\x1b[31m", "tab\tinside", "new\nline"]
)
def test_control_characters_in_descriptions_are_400(http: httpx.Client, user, description):
    res = http.post(
        "/clients/v2",
        auth=user.auth,
        json={"clientName": client_name(), "description": description},
    )
    assert_clear_error(res, 400, r"description")


@pytest.mark.usefixtures("nothing_created")
def test_oversized_fields_are_400(http: httpx.Client, user) -> None:
    fields = {"description": "d" * 5000, "callbackUrl": "http://x/" + "p" * 5000}
    for field, value in fields.items():
        res = http.post(
            "/clients/v2", auth=user.auth, data={"clientName": client_name(), field: value}
        )
        assert_clear_error(res, 400, field)


@pytest.mark.usefixtures("nothing_created")
def test_bad_tier_names_the_allowed_values(http: httpx.Client, user) -> None:
    res = http.post(
        "/clients/v2", auth=user.auth, data={"clientName": client_name(), "tier": "Platinum"}
    )
    assert_clear_error(res, 400, r"tier")
    assert re.search(r"Bronze.*Silver.*Gold.*Unlimited", error_message(res), re.IGNORECASE)


@pytest.mark.usefixtures("nothing_created")
def test_oversized_body_is_413(http: httpx.Client, user) -> None:
    body = {"clientName": client_name(), "description": "x" * (MAX_BODY + 1)}
    for kw in ({"data": body}, {"json": body}):
        res = http.post("/clients/v2", auth=user.auth, **kw)
        assert_clear_error(res, 413, r"large|too big|bytes|limit")


@pytest.mark.usefixtures("nothing_created")
def test_oversized_chunked_body_is_413(http: httpx.Client, user) -> None:
    """No Content-Length to check up front: the limit must hold while streaming."""

    def chunks():
        yield f"clientName={client_name()}&description=".encode()
        for _ in range(100):
            yield b"y" * 4096

    res = http.post(
        "/clients/v2",
        auth=user.auth,
        content=chunks(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert_clear_error(res, 413, r"large|too big|bytes|limit")


def test_oversized_token_request_is_413(http: httpx.Client, user, token_client) -> None:
    client = token_client
    res = http.post(
        "/token",
        auth=client.auth,
        data={"grant_type": "password", "password": "p" * (MAX_BODY + 1)},
    )
    assert res.status_code == 413, res.text
    assert res.json()


# -- query strings and paths ---------------------------------------------------------------

BAD_PAGING = [{"limit": "-1"}, {"limit": "abc"}, {"offset": "-5"}, {"offset": "1.5"}]
HUGE_PAGING = [{"limit": str(10**30)}, {"offset": "9" * 40}, {"limit": "0"}]


@pytest.mark.parametrize("params", BAD_PAGING, ids=[json.dumps(p) for p in BAD_PAGING])
def test_bad_paging_parameters_are_400(http: httpx.Client, user, params) -> None:
    res = http.get("/clients/v2", auth=user.auth, params=params)
    assert_clear_error(res, 400, next(iter(params)))


@pytest.mark.parametrize("params", HUGE_PAGING, ids=[json.dumps(p) for p in HUGE_PAGING])
def test_extreme_paging_parameters_are_not_a_crash(http: httpx.Client, user, params) -> None:
    """Past 64 bits a database would overflow: answer a page or a 400, never a 5xx."""
    res = http.get("/clients/v2", auth=user.auth, params=params)
    assert res.status_code in (200, 400), (res.status_code, res.text)
    if res.status_code == 400:
        assert_clear_error(res, 400, next(iter(params)))


ODD_PATHS = [
    "/clients/v2/%00",
    "/clients/v2/..%2F..%2Fetc",
    "/clients/v2/a%2Fb",
    "/clients/v2/" + "a" * 5000,
    "/clients/v2/%ff%fe",
    "/clients/v2/x/subscriptions/y",
]


@pytest.mark.parametrize("path", ODD_PATHS, ids=range(len(ODD_PATHS)))
def test_odd_paths_are_4xx_json(http: httpx.Client, user, path: str) -> None:
    res = http.get(path, auth=user.auth)
    assert 400 <= res.status_code < 500, (res.status_code, res.text)
    assert res.json()["status"] == "error"


def test_unknown_method_is_405_json(http: httpx.Client, user) -> None:
    res = http.put("/clients/v2", auth=user.auth, data={"clientName": "x"})
    assert_clear_error(res, 405, r"method|PUT|allowed")


def test_unknown_grant_and_missing_fields(http: httpx.Client, user, token_client) -> None:
    client = token_client
    res = http.post("/token", auth=client.auth, data={"grant_type": "telepathy"})
    assert res.status_code == 400 and res.json()["error"] == "unsupported_grant_type"
    res = http.post("/token", auth=client.auth, data={})
    assert res.status_code == 400 and res.json()["error"] == "invalid_request"
    assert "grant_type" in res.json()["error_description"]
    res = http.post("/token", auth=client.auth, data={"grant_type": "password"})
    assert res.status_code == 400 and res.json()["error"] == "invalid_request"
    assert re.search("username|password", res.json()["error_description"])
    res = http.post("/token", auth=client.auth, data={"grant_type": "refresh_token"})
    assert res.status_code == 400 and "refresh_token" in res.json()["error_description"]


NUL_FIELDS = {
    "password grant username": {"grant_type": "password", "username": "a\x00b", "password": "x"},
    "password grant password": {"grant_type": "password", "username": "a", "password": "x\x00"},
    "admin_password target": {
        "grant_type": "admin_password",
        "username": "a",
        "password": "x",
        "token_username": "\x00",
    },
    "refresh token": {"grant_type": "refresh_token", "refresh_token": "\x00abc"},
    "field name": {"grant_type": "password", "user\x00name": "a"},
}


@pytest.mark.parametrize("fields", NUL_FIELDS.values(), ids=NUL_FIELDS.keys())
def test_nul_in_token_fields_is_400(http: httpx.Client, token_client, fields) -> None:
    """PostgreSQL cannot store or even compare a NUL: it must never reach a query."""
    for kw in ({"data": fields}, {"json": fields}):
        res = http.post("/token", auth=token_client.auth, **kw)
        assert res.status_code == 400, res.text
        assert res.json()["error"] in ("invalid_request", "invalid_grant")
    res = http.post("/revoke", auth=token_client.auth, data={"token": "abc\x00"})
    assert res.status_code in (200, 400), res.text


# -- the OAuth endpoints of issue 11: introspection, JWKS, discovery -------------------------


@pytest.mark.parametrize("header", BROKEN_BASIC.values(), ids=BROKEN_BASIC.keys())
def test_broken_basic_header_on_introspection_is_invalid_client(
    http: httpx.Client, header: str
) -> None:
    res = http.post("/oauth2/introspect", headers={"Authorization": header}, data={"token": "a"})
    assert_clear_error(res, 401, r"client")
    assert res.json()["error"] == "invalid_client"


BAD_INTROSPECTION = {
    "no token": ({}, 400, r"token"),
    "empty token": ({"token": ""}, 400, r"token"),
    "unknown hint": ({"token": "abc", "token_type_hint": "id_token"}, 400, r"hint"),
    "NUL in token": ({"token": "abc\x00"}, 400, r"NUL"),
    "token twice": (b"token=a&token=b", 400, r"more than once"),
    "secret without id": ({"token": "abc", "client_secret": "x"}, 400, r"twice|one of"),
}


@pytest.mark.parametrize("body", BAD_INTROSPECTION.values(), ids=BAD_INTROSPECTION.keys())
def test_bad_introspection_requests_name_the_problem(http: httpx.Client, token_client, body):
    data, status, names = body
    kw = {"content": data} if isinstance(data, bytes) else {"data": data}
    headers = {"Content-Type": "application/x-www-form-urlencoded"} if "content" in kw else None
    res = http.post("/oauth2/introspect", auth=token_client.auth, headers=headers, **kw)
    assert_clear_error(res, status, names)


def test_introspecting_junk_is_inactive_not_an_error(http: httpx.Client, token_client) -> None:
    for junk in ("x", "ey.ey.ey", "a" * 5000, "../../etc/passwd", "é" * 10, "eyJ" + "." * 2):
        res = http.post("/oauth2/introspect", auth=token_client.auth, data={"token": junk})
        assert (res.status_code, res.json()) == (200, {"active": False}), junk


def test_oversized_introspection_is_413(http: httpx.Client, token_client) -> None:
    res = http.post(
        "/oauth2/introspect", auth=token_client.auth, data={"token": "a" * (MAX_BODY + 10)}
    )
    assert res.status_code == 413 and "Traceback" not in res.text


@pytest.mark.parametrize(
    "method, path",
    [
        ("POST", "/oauth2/jwks"),
        ("DELETE", "/apim/v2/publickey"),
        ("POST", "/.well-known/openid-configuration"),
        ("GET", "/oauth2/introspect"),
    ],
)
def test_wrong_methods_on_the_oauth_endpoints_are_405_json(http: httpx.Client, method, path):
    res = http.request(method, path)
    assert_clear_error(res, 405, r"method|allowed")


def test_key_and_discovery_endpoints_ignore_junk_queries(http: httpx.Client) -> None:
    for path in ("/oauth2/jwks", "/.well-known/openid-configuration", "/apim/v2/publickey"):
        res = http.get(path, params={"kid": "\x00", "x": "%ff" * 100})
        assert res.status_code == 200, (path, res.status_code)


def test_nothing_broke_the_user(http: httpx.Client, user) -> None:
    """After all that, the ordinary path still works for this user."""
    client = create_client(http, user)
    assert login(http, client, user).access


# -- hypothesis: arbitrary input in the same places ----------------------------------------


@FUZZ
@given(name=st.text(max_size=80), description=st.text(max_size=300))
def test_any_name_and_description_is_handled(http: httpx.Client, user, name, description):
    res = http.post(
        "/clients/v2", auth=user.auth, json={"clientName": name, "description": description}
    )
    assert res.status_code in (201, 400, 409), (res.status_code, res.text)
    if res.status_code == 201:
        assert re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", name)
        http.delete(f"/clients/v2/{name}", auth=user.auth)
    else:
        assert error_message(res)


@FUZZ
@given(raw=st.binary(max_size=300))
def test_any_authorization_bytes_are_handled(http: httpx.Client, raw: bytes) -> None:
    # Header values cannot carry control characters on the wire; everything else goes.
    value = bytes(b for b in raw if b == 9 or 32 <= b <= 126 or b >= 128).strip()
    for scheme in (b"Basic ", b"Bearer ", b""):
        if not (scheme + value).strip():
            continue
        header = {"Authorization": (scheme + value).strip()}
        res = http.get("/clients/v2", headers=header)
        assert res.status_code == 401, (header, res.status_code, res.text)
        res = http.get("/profiles/v2/me", headers=header)
        assert res.status_code == 401, (header, res.status_code, res.text)
        res = http.post("/token", headers=header, data={"grant_type": "client_credentials"})
        assert res.status_code in (400, 401), (header, res.status_code, res.text)


@FUZZ
@given(fields=st.dictionaries(st.text(max_size=20), st.text(max_size=50), max_size=6))
def test_any_form_on_token_is_handled(http: httpx.Client, token_client, fields) -> None:
    res = http.post("/token", auth=token_client.auth, data=fields)
    assert res.status_code in (200, 400, 401), (res.status_code, res.text)
    assert res.json()
