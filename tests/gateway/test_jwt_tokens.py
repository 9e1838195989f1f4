"""The same decisions for RFC 9068 JWT access tokens (the tenant's format switched to jwt).

A JWT is checked by signature, typ and audience and then by its row, so revoking one closes
the gateway to it at once; neither the gateway's own assertion nor a look-alike gets in.
"""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Iterator

import pytest

from tests.gateway.conftest import ASSERTION_HEADER, Gateway, bearer, new_app, token_for


def _wait_for_format(gateway: Gateway, jwt: bool) -> None:
    """Servers see a tenant change within their tenant cache time (5 s): wait until both do."""
    app = new_app(gateway)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        tokens = [token_for(gateway, app, srv.base_url)["access_token"] for srv in gateway.servers]
        if all((t.count(".") == 2) == jwt for t in tokens):
            return
        time.sleep(0.5)
    pytest.fail(f"the servers did not switch to {'jwt' if jwt else 'opaque'} tokens")


@pytest.fixture(scope="module")
def jwt_tenant(gateway: Gateway) -> Iterator[None]:
    gateway.admin("tenants", "update", "sd2e", "--access-token-format", "jwt")
    try:
        _wait_for_format(gateway, jwt=True)
        yield
    finally:
        gateway.admin("tenants", "update", "sd2e", "--access-token-format", "opaque")
        _wait_for_format(gateway, jwt=False)


def test_jwt_reaches_the_backend_and_revocation_closes_it_at_once(
    gateway: Gateway, jwt_tenant
) -> None:
    app = new_app(gateway, tier="Gold")
    pair = token_for(gateway, app)
    token = pair["access_token"]
    assert token.count(".") == 2
    with gateway.http() as http:
        r = http.get("/jobs/v2/a", headers=bearer(token))
        assert r.status_code == 200, r.text
        assert r.json()["user"] == app.user.username and r.json()["tier"] == "Gold"
        assert http.post("/revoke", data={"token": token}, auth=app.auth).status_code == 200
        r = http.get("/jobs/v2/a", headers=bearer(token))
        assert r.status_code == 401 and r.json()["fault"]["code"] == "900901"


def test_expired_and_look_alike_jwts_are_401(gateway: Gateway, jwt_tenant) -> None:
    app = new_app(gateway)
    expiring = gateway.short_lived_token(app)
    token = token_for(gateway, app)["access_token"]
    head, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "someone-else"
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    with gateway.http() as http:
        echo = http.get("/echo/v2/", headers=bearer(token)).json()
        assertion = dict((k.lower(), v) for k, v in echo["headers"])[ASSERTION_HEADER.lower()]
        for bad in (
            f"{head}.{forged_payload}.{signature}",  # tampered claims
            f"{head}.{payload}.{signature[:-4]}AAAA",  # bad signature
            assertion,  # the gateway's own assertion is not an access token
        ):
            r = http.get("/jobs/v2/", headers=bearer(bad))
            assert r.status_code == 401, bad
        expiring.wait_until_expired()
        r = http.get("/jobs/v2/", headers=bearer(expiring.token))
        assert r.status_code == 401 and r.json()["fault"]["code"] == "900901"
