#!/usr/bin/env python3
"""JWT signing and verification cost per operation: RS256 vs ES256 vs Ed25519 (EdDSA).

The same calls the server makes (``oauth/keys.KeyRing.sign``/``verify``: joserfc's
``jwt.encode`` / ``jwt.decode`` with the algorithm pinned) on the claims of an RFC 9068 access
token, in this process. Ed25519 is RFC 9864's name for EdDSA over Ed25519 (joserfc warns that
the old ``EdDSA`` name is deprecated). Figures are CPU microseconds per operation
(``time.process_time``, the best of a few rounds), so other programs on the machine move them
little.

    .venv/bin/python -m bench.signing [--seconds 0.5]   # prints one JSON object
"""

from __future__ import annotations

import argparse
import json
import sys
import time

from joserfc import jwt
from joserfc.jwk import ECKey, OKPKey, RSAKey

ROUNDS = 3


def _keys() -> dict[str, object]:
    return {
        "RS256": RSAKey.generate_key(2048, parameters={"kid": "r"}, private=True),
        "ES256": ECKey.generate_key("P-256", parameters={"kid": "e"}, private=True),
        "Ed25519": OKPKey.generate_key("Ed25519", parameters={"kid": "o"}, private=True),
    }


def _claims() -> dict:
    now = int(time.time())
    return {
        "iss": "https://tenant.example.org",
        "sub": "benchuser",
        "aud": "https://tenant.example.org/",
        "client_id": "x" * 43,
        "scope": "PRODUCTION",
        "iat": now,
        "exp": now + 14400,
        "jti": "j" * 22,
    }


def _per_op_us(fn, seconds: float) -> float:
    """CPU microseconds per call of ``fn``: the best of ``ROUNDS`` rounds of ~``seconds``."""
    best = None
    for _ in range(ROUNDS):
        n, t0 = 0, time.process_time()
        while True:
            for _ in range(20):
                fn()
            n += 20
            used = time.process_time() - t0
            if used >= seconds:
                break
        per = used / n * 1e6
        best = per if best is None else min(best, per)
    return best or 0.0


def measure(seconds: float = 0.5) -> dict:
    out = {}
    claims = _claims()
    for alg, key in _keys().items():
        header = {"alg": alg, "typ": "at+jwt", "kid": key.kid}
        token = jwt.encode(header, claims, key, algorithms=[alg])
        public = type(key).import_key(key.as_dict(private=False))
        assert jwt.decode(token, public, algorithms=[alg]).claims == claims
        out[alg] = {
            "sign_us": _per_op_us(
                lambda h=header, k=key, a=alg: jwt.encode(h, claims, k, [a]), seconds
            ),
            "verify_us": _per_op_us(
                lambda t=token, k=public, a=alg: jwt.decode(t, k, [a]), seconds
            ),
            "token_bytes": len(token),
        }
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=0.5, help="CPU seconds per round")
    args = p.parse_args(argv)
    print(json.dumps(measure(args.seconds), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
