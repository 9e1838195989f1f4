"""Per-tenant signing keys: JWKS, Agave's publickey, rotation, and what verification pins.

Forged tokens are made in-process with the server's own key ring (the test reads the server's
database and data directory, as an operator could): a valid signature is not enough when the
``typ``, audience, issuer or algorithm is wrong.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from cryptography import x509
from joserfc import jwt
from joserfc.jwk import KeySet

from agave_server.config import Settings
from agave_server.oauth.keys import KeyRing
from agave_server.storage import Database
from agave_server.storage.tenants import get_tenant
from tests.oauth.conftest import FAST_CACHE, Tenant, jwt_parts


def key_ring(tenant: Tenant) -> tuple[KeyRing, object]:
    srv = tenant.server
    settings = Settings.load(db=srv.db_url, data_dir=srv.workdir, env=FAST_CACHE)
    db = Database(settings.db_url)
    return KeyRing(db, settings), get_tenant(db, tenant.code)


def wait_for(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.25)


def test_jwks_has_only_public_rs256_keys_with_certificates(a: Tenant) -> None:
    r = a.http.get("/oauth2/jwks")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, max-age=3600"
    (key,) = r.json()["keys"]
    assert key["kty"] == "RSA" and key["alg"] == "RS256" and key["use"] == "sig"
    assert {"d", "p", "q", "dp", "dq", "qi"}.isdisjoint(key)
    cert = x509.load_der_x509_certificate(base64.b64decode(key["x5c"][0]))
    assert cert.public_key().public_numbers().e == 65537


def test_each_tenant_has_its_own_keys(a: Tenant, b: Tenant) -> None:
    kids_a = {k["kid"] for k in a.jwks()["keys"]}
    kids_b = {k["kid"] for k in b.jwks()["keys"]}
    assert kids_a and kids_b and not kids_a & kids_b


def test_publickey_is_the_current_key_as_a_pem_certificate(a: Tenant) -> None:
    r = a.http.get("/apim/v2/publickey")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("-----BEGIN CERTIFICATE-----")
    cert = x509.load_pem_x509_certificate(r.text.encode())
    (jwk,) = a.jwks()["keys"]
    n = int.from_bytes(base64.urlsafe_b64decode(jwk["n"] + "=="), "big")
    assert cert.public_key().public_numbers().n == n
    # The tenant record links to it, as Agave's did.
    tenant = a.http.get(f"/tenants/{a.code}").json()["result"]
    assert tenant["_links"]["publickey"]["href"] == a.base_url + "apim/v2/publickey"
    assert tenant["issuer"] == a.issuer


def test_keys_list_shows_the_signing_key(a: Tenant) -> None:
    out = a.server.admin("keys", "list", "--tenant", a.code).stdout
    (kid,) = [k["kid"] for k in a.jwks()["keys"]]
    assert kid in out and "signing" in out
    assert "PRIVATE" not in out


FORGERIES = {
    "an ID token (typ JWT, aud client)": ("JWT", "client"),
    "no typ": (None, "api"),
    "wrong audience": ("at+jwt", "https://elsewhere.example/"),
    "wrong issuer": ("at+jwt", "api", "https://evil.example"),
}


@pytest.mark.parametrize("forgery", FORGERIES.values(), ids=FORGERIES.keys())
def test_validly_signed_but_wrong_tokens_are_refused(a: Tenant, forgery) -> None:
    a.set_format("jwt")
    client = a.client(a.shared_user())
    real = a.token(client)["access_token"]
    _, claims = jwt_parts(real)
    typ, audience, *issuer = forgery
    claims["aud"] = client.key if audience == "client" else a.base_url
    if audience not in ("client", "api"):
        claims["aud"] = audience
    if issuer:
        claims["iss"] = issuer[0]
    ring, tenant = key_ring(a)
    key = ring.current(tenant)
    header = {"alg": key.alg, "kid": key.kid} | ({"typ": typ} if typ else {})
    forged = jwt.encode(header, claims, ring.signing_keyset(tenant), algorithms=[key.alg])
    assert a.me(forged).status_code == 401
    assert a.introspect(client, forged).json() == {"active": False}
    assert a.me(real).status_code == 200


def test_alg_none_and_hmac_with_the_public_key_are_refused(a: Tenant) -> None:
    a.set_format("jwt")
    client = a.client(a.shared_user())
    real = a.token(client)["access_token"]
    header, claims = jwt_parts(real)

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).rstrip(b"=").decode()

    import json

    none_header = b64(json.dumps({**header, "alg": "none"}).encode())
    unsigned = f"{none_header}.{real.split('.')[1]}."
    assert a.me(unsigned).status_code == 401
    # HS256 keyed with the public key's PEM: the classic algorithm-confusion forgery.
    pem = a.http.get("/apim/v2/publickey").text.encode()
    signing_input = (
        f"{b64(json.dumps({**header, 'alg': 'HS256'}).encode())}.{b64(json.dumps(claims).encode())}"
    )
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    assert a.me(f"{signing_input}.{b64(mac)}").status_code == 401
    # Same claims, signature of another tenant's key.
    assert a.me(real[:-4] + ("AAAA" if not real.endswith("AAAA") else "BBBB")).status_code == 401


def test_rotation_publishes_first_signs_later_and_drops_the_old_key(make_server) -> None:
    srv = make_server(
        env={
            **FAST_CACHE,
            # The cache lifetime well below the token lifetime: a token the old key signed just
            # after the rotation must still be alive when the new key starts signing, however
            # slow the machine.
            "AGAVE_SERVER_JWKS_MAX_AGE": "4",
            "AGAVE_SERVER_ACCESS_TOKEN_LIFETIME": "25",
            # ID tokens are signed too: the old key stays until they have expired as well.
            "AGAVE_SERVER_ID_TOKEN_LIFETIME": "25",
        }
    )
    t = Tenant(srv, "sd2e", srv.base_url + "/")
    t.set_format("jwt")
    client = t.client(t.shared_user())
    (old_kid,) = [k["kid"] for k in t.jwks()["keys"]]
    out = srv.admin("keys", "rotate", "--tenant", t.code, "--alg", "ES256").stdout
    kids = [k["kid"] for k in t.jwks()["keys"]]
    (new_kid,) = [k for k in kids if k != old_kid]
    assert new_kid in out and old_kid in kids  # published at once, the old one too
    assert t.http.get("/oauth2/jwks").headers["cache-control"] == "public, max-age=4"
    # Not signing yet: verifiers may still hold a JWKS without it.
    during = t.token(client)["access_token"]
    assert jwt_parts(during)[0]["kid"] == old_kid
    assert t.me(during).status_code == 200
    wait_for(
        lambda: jwt_parts(t.token(client)["access_token"])[0]["kid"] == new_kid,
        timeout=20,
        what="the new key to sign",
    )
    after = t.token(client)["access_token"]
    header, _ = jwt_parts(after)
    assert header["alg"] == "ES256"
    assert t.me(after).status_code == 200
    # Tokens of the old key still verify (server and JWKS) until they expire.
    last_old = during
    assert t.me(last_old).status_code == 200
    keys = KeySet.import_key_set(t.jwks())
    jwt.decode(last_old, keys, algorithms=["RS256"])
    pem = t.http.get("/apim/v2/publickey").text
    assert x509.load_pem_x509_certificate(pem.encode()).public_key().curve.name == "secp256r1"
    # The old key leaves the JWKS once every token it signed has expired.
    wait_for(
        lambda: [k["kid"] for k in t.jwks()["keys"]] == [new_kid],
        timeout=60,
        what="the old key to leave the JWKS",
    )
    assert t.me(last_old).status_code == 401
    assert t.me(after).status_code == 200 or time.time() > jwt_parts(after)[1]["exp"]
    assert old_kid not in srv.admin("keys", "list", "--tenant", t.code).stdout


def test_key_encryption_key_from_the_environment(make_server) -> None:
    kek = base64.urlsafe_b64encode(b"k" * 32).decode()
    srv = make_server(env={**FAST_CACHE, "AGAVE_SERVER_KEY_ENCRYPTION_KEY": kek})
    assert not (srv.workdir / "signing-keys.kek").exists()
    t = Tenant(srv, "sd2e", srv.base_url + "/")
    t.set_format("jwt")
    client = t.client(t.shared_user())
    assert t.me(t.token(client)["access_token"]).status_code == 200
    # keys list tells the operator what each key does (default JWKS lifetime: an hour).
    srv.admin("keys", "rotate", "--tenant", t.code)
    listing = srv.admin("keys", "list", "--tenant", t.code).stdout.splitlines()
    assert len(listing) == 2
    assert listing[0].split()[2] == "signing"
    assert "published, signs from" in listing[1]


def test_a_wrong_key_encryption_key_is_a_clear_error(make_server) -> None:
    good = base64.urlsafe_b64encode(b"g" * 32).decode()
    srv = make_server(env={**FAST_CACHE, "AGAVE_SERVER_KEY_ENCRYPTION_KEY": good})
    srv.stop()
    srv.env["AGAVE_SERVER_KEY_ENCRYPTION_KEY"] = base64.urlsafe_b64encode(b"w" * 32).decode()
    srv.start()
    t = Tenant(srv, "sd2e", srv.base_url + "/")
    t.set_format("jwt")
    client = t.client(t.shared_user())
    r = t.http.post("/token", data={"grant_type": "client_credentials"}, auth=client.auth)
    assert r.status_code == 500
    assert r.json()["error"] == "server_error"
    assert "Traceback" not in r.text
    assert "key-encryption key" in srv.log()
