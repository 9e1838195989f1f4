"""``identity.upstream_oidc.verify_id_token`` on its own: every check of OIDC Core 3.1.3.7 it
makes refuses a token that breaks it (keys made here; the real upstream's tokens are checked
in test_upstream_oidc.py)."""

from __future__ import annotations

import base64
import json
import time

import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from agave_server.identity.upstream_oidc import UpstreamRefused, verify_id_token

ISSUER = "https://upstream.example.org"
CLIENT = "agave-client"
NONCE = "n-0S6_WzA2Mj"


@pytest.fixture(scope="module")
def key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "k1"})


@pytest.fixture(scope="module")
def keys(key: RSAKey) -> KeySet:
    return KeySet([RSAKey.import_key(key.as_dict(private=False))])


def claims(**changes) -> dict:
    now = int(time.time())
    base = {"iss": ISSUER, "aud": CLIENT, "sub": "248289761001", "nonce": NONCE}
    base.update(iat=now, exp=now + 300)
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def sign(key: RSAKey, payload: dict, alg: str = "RS256") -> str:
    return jwt.encode({"alg": alg, "kid": key.kid}, payload, key)


def verify(token: str, keys: KeySet) -> dict:
    return verify_id_token(token, keys, issuer=ISSUER, client_id=CLIENT, nonce=NONCE)


def _b64(data: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_a_good_token_verifies(key, keys):
    assert verify(sign(key, claims()), keys)["sub"] == "248289761001"


def test_a_tampered_payload_is_refused(key, keys):
    header, _payload, signature = sign(key, claims()).split(".")
    forged = ".".join((header, _b64(claims(sub="someone-else")), signature))
    with pytest.raises(UpstreamRefused, match="not validly signed"):
        verify(forged, keys)


def test_another_key_with_the_same_kid_is_refused(keys):
    impostor = RSAKey.generate_key(2048, parameters={"kid": "k1"})
    with pytest.raises(UpstreamRefused, match="not validly signed"):
        verify(sign(impostor, claims()), keys)


def test_alg_none_is_refused(keys):
    unsigned = _b64({"alg": "none", "kid": "k1"}) + "." + _b64(claims()) + "."
    with pytest.raises(UpstreamRefused):
        verify(unsigned, keys)


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"iss": "https://evil.example.org"}, "iss"),
        ({"aud": "another-client"}, "aud"),
        ({"nonce": "replayed-nonce"}, "nonce"),
        ({"nonce": None}, "nonce"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"sub": None}, "sub"),
    ],
)
def test_each_claim_check_refuses(key, keys, changes, says):
    with pytest.raises(UpstreamRefused) as refused:
        verify(sign(key, claims(**changes)), keys)
    assert says in refused.value.message


def test_several_audiences_need_azp(key, keys):
    with pytest.raises(UpstreamRefused, match="azp"):
        verify(sign(key, claims(aud=[CLIENT, "other"])), keys)
    assert verify(sign(key, claims(aud=[CLIENT, "other"], azp=CLIENT)), keys)["azp"] == CLIENT
