"""agavepy.assertion against real assertions from the gateway: accepted as they are, refused
when forged, expired, or meant for something else; the FastAPI and WSGI forms."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from wsgiref.simple_server import WSGIRequestHandler, make_server

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from agavepy.assertion import (
    ASSERTION_TYP,
    AssertionVerifier,
    InvalidAssertion,
    assertion_header,
    verify_assertion,
)
from tests.gateway.conftest import ASSERTION_HEADER, App, Gateway, bearer, new_app, token_for


@pytest.fixture(scope="module")
def app_and_assertion(gateway: Gateway) -> tuple[App, str]:
    """A real assertion, as the Echo backend received it through nginx."""
    app = new_app(gateway, tier="Silver")
    token = token_for(gateway, app)["access_token"]
    with gateway.http() as http:
        seen = http.get("/echo/v2/who", headers=bearer(token)).json()
    headers = {k.lower(): v for k, v in seen["headers"]}
    return app, headers[ASSERTION_HEADER.lower()]


def test_header_name_follows_wso2_with_dashes() -> None:
    assert assertion_header("sd2e") == "X-JWT-Assertion-sd2e"
    assert assertion_header("iplant.dev_1") == "X-JWT-Assertion-iplant-dev-1"


def test_a_real_assertion_verifies_with_the_tenants_jwks(gateway: Gateway, app_and_assertion):
    app, assertion = app_and_assertion
    who = AssertionVerifier("sd2e", gateway.url).verify(assertion)
    assert who.end_user == app.user.username
    assert who.claims["http://wso2.org/claims/enduser"] == f"{app.user.username}@carbon.super"
    assert who.subscriber == app.user.username
    assert who.client_name == app.name and who.client_id.isdigit()
    assert who.tier == "Silver" and who.application_tier == "Silver"
    assert (who.api_context, who.api_version) == ("/echo/v2", "v2")
    assert who.key_type == "PRODUCTION" and "Internal/everyone" in who.roles
    assert who.email == "end@example.org"
    assert who.issuer == gateway.url
    assert 0 < who.expires_at - who.claims["iat"] <= 90
    assert who.claims["jti"]


def test_the_one_function_takes_headers_requests_or_the_jwt(gateway: Gateway, app_and_assertion):
    app, assertion = app_and_assertion
    for given in (
        assertion,
        {ASSERTION_HEADER.upper(): assertion},
        httpx.Headers({ASSERTION_HEADER: assertion}),
    ):
        assert (
            verify_assertion(given, tenant="sd2e", issuer=gateway.url).end_user == app.user.username
        )


def test_expired_wrong_issuer_audience_api_are_refused(gateway: Gateway, app_and_assertion):
    _, assertion = app_and_assertion
    later = AssertionVerifier("sd2e", gateway.url, clock=lambda: time.time() + 120)
    with pytest.raises(InvalidAssertion, match=r"expired"):
        later.verify(assertion)
    with pytest.raises(InvalidAssertion):
        AssertionVerifier(
            "sd2e", "http://elsewhere.example", jwks_url=gateway.url + "/oauth2/jwks"
        ).verify(assertion)
    with pytest.raises(InvalidAssertion):
        AssertionVerifier("sd2e", gateway.url, audience="someone-else").verify(assertion)
    with pytest.raises(InvalidAssertion, match="API"):
        AssertionVerifier("sd2e", gateway.url, api_context="/jobs/v2").verify(assertion)
    with pytest.raises(InvalidAssertion, match="no X-JWT-Assertion-sd2e"):
        AssertionVerifier("sd2e", gateway.url).from_headers({})


def test_forged_assertions_are_refused(gateway: Gateway, app_and_assertion):
    _, assertion = app_and_assertion
    verifier = AssertionVerifier("sd2e", gateway.url)
    head, payload, signature = assertion.split(".")
    header = json.loads(_b64d(head))
    claims = json.loads(_b64d(payload))
    # Same claims and kid, signed by a key that is not the tenant's.
    other = RSAKey.generate_key(2048, parameters={"kid": header["kid"]})
    forged = jwt.encode(header, claims, other)
    # The tenant's signature over other claims; and alg none.
    claims2 = {**claims, "http://wso2.org/claims/enduser": "admin@carbon.super"}
    swapped = f"{head}.{_b64e(json.dumps(claims2))}.{signature}"
    unsigned = f"{_b64e(json.dumps({'alg': 'none', 'typ': ASSERTION_TYP}))}.{payload}."
    for bad in (forged, swapped, unsigned, "junk", "a.b.c"):
        with pytest.raises(InvalidAssertion):
            verifier.verify(bad)


def test_a_key_given_instead_of_the_jwks_and_typ_pinned() -> None:
    key = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    public = key.as_pem(private=False)
    verifier = AssertionVerifier("sd2e", "https://t.example", key=public)
    import time

    claims = {
        "iss": "https://t.example",
        "aud": "https://t.example/gateway",
        "exp": int(time.time()) + 60,
        "http://wso2.org/claims/enduser": "pat@carbon.super",
    }
    good = jwt.encode({"alg": "RS256", "typ": ASSERTION_TYP, "kid": "k1"}, claims, key)
    assert verifier.verify(good).end_user == "pat"
    access_token = jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": "k1"}, claims, key)
    with pytest.raises(InvalidAssertion, match="typ"):
        verifier.verify(access_token)


@pytest.fixture
def wsgi_service(gateway: Gateway) -> Iterator[str]:
    """A WSGI app behind ``verifier.wsgi``, served on a loopback port by wsgiref."""
    verifier = AssertionVerifier("sd2e", gateway.url)

    @verifier.wsgi
    def application(environ, start_response):
        who = environ["agave.identity"]
        body = json.dumps({"user": who.end_user, "client": who.client_name}).encode()
        start_response("200 OK", [("Content-Type", "application/json")])
        return [body]

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args):
            pass

    server = make_server("127.0.0.1", 0, application, handler_class=Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_wsgi_decorator(wsgi_service: str, app_and_assertion) -> None:
    app, assertion = app_and_assertion
    ok = httpx.get(wsgi_service + "/x", headers={ASSERTION_HEADER: assertion})
    assert ok.status_code == 200 and ok.json() == {"user": app.user.username, "client": app.name}
    refused = httpx.get(wsgi_service + "/x")
    assert refused.status_code == 401 and "X-JWT-Assertion-sd2e" in refused.json()["message"]
    forged = httpx.get(wsgi_service + "/x", headers={ASSERTION_HEADER: assertion[:-6] + "AAAAAA"})
    assert forged.status_code == 401


def test_the_docs_backend_refuses_calls_that_skip_the_gateway(gateway: Gateway, app_and_assertion):
    _, assertion = app_and_assertion
    direct = httpx.get(gateway.whoami.url + "/jobs/v2/x")
    assert direct.status_code == 401
    forged = httpx.get(
        gateway.whoami.url + "/jobs/v2/x", headers={ASSERTION_HEADER: assertion + "x"}
    )
    assert forged.status_code == 401
    ok = httpx.get(gateway.whoami.url + "/echo/v2/who", headers={ASSERTION_HEADER: assertion})
    assert ok.status_code == 200


def _b64d(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _b64e(text: str) -> str:
    import base64

    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()
