"""Per-tenant signing keys: creation, encryption at rest, JWKS, rotation, sign and verify.

Each tenant has its own keys (RS256 by default, ES256 on request). The private key is stored
encrypted with AES-256-GCM under a key-encryption key (KEK) that never enters the database:
``AGAVE_SERVER_KEY_ENCRYPTION_KEY`` (32 bytes, base64url) or, when that is unset, the file
``signing-keys.kek`` in the data directory (mode 0600, made on first use). A copy of the
database alone cannot forge tokens. The ciphertext is bound to its tenant and kid (AES-GCM
associated data), so rows cannot be swapped between tenants.

Verification pins everything a token could lie about: the key comes from the tenant's own
published keys (by ``kid``; never from the token's ``iss`` or an embedded key), the algorithm
is the key's own, the ``typ`` header and the audience are the caller's, and ``iss`` must be
the tenant's issuer. Keys are read per process and kept for ``tenant_cache_seconds``; an
unknown ``kid`` triggers a reload at once (a rotation made by another process).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import os
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet, RSAKey
from joserfc.jws import extract_compact
from joserfc.jwt import JWTClaimsRegistry

from ..config import ConfigError, Settings
from ..storage import Database
from ..storage import signing_keys as store
from ..storage.database import now
from ..storage.records import Tenant
from ..storage.signing_keys import NewKey, SigningKeyRow

KEK_ENV = "AGAVE_SERVER_KEY_ENCRYPTION_KEY"
KEK_FILE = "signing-keys.kek"
ALGORITHMS = ("RS256", "ES256")
MAX_JWT_BYTES = 8192
_SEALED_PREFIX = "aesgcm1:"


class KeyUnavailable(Exception):
    """A private key cannot be used (wrong key-encryption key, or none stored)."""


class InvalidJWT(Exception):
    """A JWT failed verification; the message says why (for logs and introspection)."""


# -- the key-encryption key ----------------------------------------------------------------


def _b64decode(text: str) -> bytes:
    padded = text.strip() + "=" * (-len(text.strip()) % 4)
    return base64.urlsafe_b64decode(padded)


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class KeyEncryption:
    """AES-256-GCM with the key-encryption key; ``seal``/``open`` private keys."""

    def __init__(self, key: bytes, source: str) -> None:
        if len(key) != 32:
            raise ConfigError(f"the key-encryption key from {source} is not 32 bytes")
        self._aead = AESGCM(key)
        self.source = source

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyEncryption:
        """From ``AGAVE_SERVER_KEY_ENCRYPTION_KEY``, else the data directory's file."""
        raw = os.environ.get(KEK_ENV, "").strip()
        if raw:
            try:
                return cls(_b64decode(raw), KEK_ENV)
            except (binascii.Error, ValueError):
                raise ConfigError(
                    f"{KEK_ENV} is not base64url: make one with "
                    "`python3 -c 'import secrets,base64;"
                    "print(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode())'`"
                ) from None
        path = Path(settings.data_dir) / KEK_FILE
        return cls(_read_or_create_kek(path), str(path))

    def seal(self, plaintext: bytes, context: str) -> str:
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, plaintext, context.encode("utf-8"))
        return _SEALED_PREFIX + _b64encode(nonce + sealed)

    def open(self, sealed: str, context: str) -> bytes:
        from cryptography.exceptions import InvalidTag

        if not sealed.startswith(_SEALED_PREFIX):
            raise KeyUnavailable("the stored private key is not in a known format")
        raw = _b64decode(sealed[len(_SEALED_PREFIX) :])
        try:
            return self._aead.decrypt(raw[:12], raw[12:], context.encode("utf-8"))
        except InvalidTag:
            raise KeyUnavailable(
                f"cannot decrypt a signing key with the key-encryption key from {self.source}: "
                f"it is not the key it was encrypted with (every process must use the same "
                f"{KEK_ENV} or {KEK_FILE})"
            ) from None


def _read_or_create_kek(path: Path) -> bytes:
    """The KEK file's key; made (0600, atomically: concurrent starts agree) if missing."""
    try:
        return _b64decode(path.read_text())
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(temp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(_b64encode(secrets.token_bytes(32)) + "\n")
    try:
        os.link(temp, path)  # fails if another process made it first: use theirs
    except FileExistsError:
        pass
    finally:
        temp.unlink()
    return _b64decode(path.read_text())


# -- making keys -----------------------------------------------------------------------------


def _certificate(private: Any, tenant: Tenant, kid: str) -> bytes:
    """A self-signed X.509 certificate of the public key (DER): Agave's publickey answer, and
    the JWK's ``x5c`` for verifiers that want a certificate."""
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, f"{tenant.code} token signing {kid}"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, tenant.name[:64] or tenant.code),
        ]
    )
    start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + datetime.timedelta(days=3650))
        .sign(private, hashes.SHA256())
    )
    return cert.public_bytes(serialization.Encoding.DER)


def _context(tenant_id: int, kid: str) -> str:
    return f"agave-signing-key:{tenant_id}:{kid}"


def new_key(tenant: Tenant, kek: KeyEncryption, alg: str = "RS256") -> NewKey:
    """A fresh key pair for the tenant: the public JWK (with x5c) and the sealed private key."""
    if alg not in ALGORITHMS:
        raise ValueError(f"unsupported signing algorithm {alg!r}: use {', '.join(ALGORITHMS)}")
    kid = secrets.token_urlsafe(12)
    params = {"kid": kid, "alg": alg, "use": "sig"}
    key = (
        RSAKey.generate_key(2048, parameters=params, private=True)
        if alg == "RS256"
        else ECKey.generate_key("P-256", parameters=params, private=True)
    )
    pem = key.as_pem(private=True)
    private = serialization.load_pem_private_key(pem, password=None)
    public = key.as_dict(private=False)
    public["x5c"] = [base64.b64encode(_certificate(private, tenant, kid)).decode("ascii")]
    return NewKey(
        kid=kid,
        alg=alg,
        public_jwk=json.dumps(public, sort_keys=True),
        private_key=kek.seal(pem, _context(tenant.id, kid)),
    )


# -- the per-process key ring --------------------------------------------------------------


@dataclass
class TenantKey:
    """One published key: its row, the parsed public key, and (once needed) the private key."""

    row: SigningKeyRow
    public: Any
    public_dict: dict[str, Any]
    private: Any = None

    @property
    def kid(self) -> str:
        return self.row.kid

    @property
    def alg(self) -> str:
        return self.row.alg

    def status(self, at: int) -> str:
        if self.row.signs_from > at:
            return "pending"
        if self.row.retires_at is not None and self.row.retires_at <= at:
            return "retired"
        return "signing"


@dataclass
class _Loaded:
    at: float
    keys: list[TenantKey]
    by_kid: dict[str, TenantKey] = field(default_factory=dict)
    # ``KeyRing.current``'s answer and the time span (Unix seconds) over which it holds.
    signing: tuple[TenantKey, int, int] | None = None


def signed_token_lifetime(settings: Settings) -> int:
    """The longest lifetime of a token this server signs (access and ID tokens)."""
    return max(settings.access_token_lifetime, getattr(settings, "id_token_lifetime", 0))


class KeyRing:
    """The tenants' keys as this process sees them (see the module docstring)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.db = db
        self.settings = settings
        self._kek: KeyEncryption | None = None
        self._lock = threading.Lock()
        self._loaded: dict[int, _Loaded] = {}

    @property
    def kek(self) -> KeyEncryption:
        if self._kek is None:
            self._kek = KeyEncryption.from_settings(self.settings)
        return self._kek

    # -- loading -------------------------------------------------------------------------
    def _load(self, tenant: Tenant) -> _Loaded:
        rows = store.published(self.db, tenant.id)
        if not rows:
            store.ensure_first(self.db, tenant.id, new_key(tenant, self.kek))
            rows = store.published(self.db, tenant.id)
        old = self._loaded.get(tenant.id)
        previous = old.by_kid if old else {}
        keys = []
        for row in rows:
            known = previous.get(row.kid)
            if known is not None and known.row == row:
                keys.append(known)  # keep the parsed (and maybe decrypted) key
                continue
            public_dict = json.loads(row.public_jwk)
            parser = RSAKey if public_dict.get("kty") == "RSA" else ECKey
            keys.append(TenantKey(row, parser.import_key(public_dict), public_dict))
        loaded = _Loaded(time.monotonic(), keys, {k.kid: k for k in keys})
        with self._lock:
            self._loaded[tenant.id] = loaded
        return loaded

    def _keys(self, tenant: Tenant, fresh: bool = False) -> _Loaded:
        loaded = self._loaded.get(tenant.id)
        ttl = self.settings.tenant_cache_seconds
        if fresh or loaded is None or time.monotonic() - loaded.at >= ttl:
            loaded = self._load(tenant)
        return loaded

    def published(self, tenant: Tenant) -> list[TenantKey]:
        at = now()
        return [
            k
            for k in self._keys(tenant).keys
            if k.row.drop_at is None or k.row.drop_at > at  # dropped since the last load
        ]

    def jwks(self, tenant: Tenant) -> dict[str, Any]:
        """The tenant's JWKS (RFC 7517): every published public key."""
        return {"keys": [dict(k.public_dict) for k in self.published(tenant)]}

    def public_key(self, tenant: Tenant, kid: str) -> TenantKey | None:
        """A published key by ``kid``; an unknown kid reloads once (rotated elsewhere)."""
        loaded = self._keys(tenant)
        key = loaded.by_kid.get(kid)
        if key is None and time.monotonic() - loaded.at > 1.0:
            key = self._keys(tenant, fresh=True).by_kid.get(kid)
        if key is not None and key.row.drop_at is not None and key.row.drop_at <= now():
            return None
        return key

    def current(self, tenant: Tenant) -> TenantKey:
        """The key that signs now: the newest whose ``signs_from`` has come.

        Asked on every gateway decision, so the answer is kept with the loaded keys for as
        long as it holds: until the next pending key's ``signs_from`` or the answer's own
        ``drop_at``, whichever comes first (a reload starts over).
        """
        at = now()
        loaded = self._keys(tenant)
        memo = loaded.signing
        if memo is not None and memo[1] <= at < memo[2]:
            return memo[0]
        candidates = [k for k in self.published(tenant) if k.row.signs_from <= at]
        if not candidates:
            loaded = self._keys(tenant, fresh=True)
            candidates = loaded.keys
        signing = max(candidates, key=lambda k: (k.row.signs_from, k.row.id))
        self.private_key(tenant, signing)
        ends = [k.row.signs_from for k in loaded.keys if k.row.signs_from > at]
        if signing.row.drop_at is not None:
            ends.append(signing.row.drop_at)
        loaded.signing = (signing, at, min(ends, default=2**62))
        return signing

    def private_key(self, tenant: Tenant, key: TenantKey) -> Any:
        """The decrypted private key (kept in this process once decrypted)."""
        if key.private is None:
            pem = self.kek.open(key.row.private_key, _context(tenant.id, key.kid))
            parser = RSAKey if key.alg == "RS256" else ECKey
            key.private = parser.import_key(pem, parameters={"kid": key.kid, "alg": key.alg})
        return key.private

    def signing_keyset(self, tenant: Tenant) -> KeySet:
        """The current private key as a one-key set (joserfc then writes its ``kid``)."""
        key = self.current(tenant)
        return KeySet([self.private_key(tenant, key)])

    def public_certificate_pem(self, tenant: Tenant) -> str:
        """The current signing key's X.509 certificate, PEM (Agave's /apim/v2/publickey)."""
        key = self.current(tenant)
        der = base64.b64decode(key.public_dict["x5c"][0])
        cert = x509.load_der_x509_certificate(der)
        return cert.public_bytes(serialization.Encoding.PEM).decode("ascii")

    # -- signing and verifying ------------------------------------------------------------
    def sign(self, tenant: Tenant, claims: Mapping[str, Any], typ: str) -> str:
        """A compact JWS of ``claims`` with the tenant's current key and header ``typ``."""
        key = self.current(tenant)
        header = {"alg": key.alg, "typ": typ, "kid": key.kid}
        return jwt.encode(header, dict(claims), self.private_key(tenant, key), algorithms=[key.alg])

    def verify(
        self, tenant: Tenant, token: str, *, typ: str, audience: str | None
    ) -> dict[str, Any]:
        """The claims of a JWT this tenant signed, for ``typ`` and ``audience``; else raises
        InvalidJWT. ``audience=None`` skips only the audience check (introspection)."""
        if len(token) > MAX_JWT_BYTES or token.count(".") != 2:
            raise InvalidJWT("not a compact JWS")
        try:
            header = extract_compact(token.encode("ascii")).protected
        except (JoseError, ValueError, UnicodeError) as err:
            raise InvalidJWT(f"malformed JWT: {err}") from None
        if not _typ_matches(header.get("typ"), typ):
            raise InvalidJWT(f"typ is {header.get('typ')!r}, expected {typ!r}")
        kid = header.get("kid")
        key = self.public_key(tenant, kid) if isinstance(kid, str) else None
        if key is None:
            raise InvalidJWT("unknown or missing kid (not a key of this tenant)")
        if header.get("alg") != key.alg:
            raise InvalidJWT(f"alg is {header.get('alg')!r}; this key signs with {key.alg}")
        try:
            decoded = jwt.decode(token, key.public, algorithms=[key.alg])
        except (JoseError, ValueError) as err:
            raise InvalidJWT(f"bad signature or encoding: {err}") from None
        options: dict[str, Any] = {
            "iss": {"essential": True, "value": tenant.issuer},
            "exp": {"essential": True},
            "iat": {"essential": True},
        }
        if audience is not None:
            options["aud"] = {"essential": True, "value": audience}
        try:
            JWTClaimsRegistry(leeway=5, **options).validate(decoded.claims)
        except JoseError as err:
            raise InvalidJWT(f"claims rejected: {err}") from None
        return decoded.claims

    # -- operator actions -----------------------------------------------------------------
    def create_first(self, conn: Any, tenant: Tenant) -> None:
        """The first key of a new tenant, inside the transaction that creates the tenant."""
        store.add_first_in(conn, tenant.id, new_key(tenant, self.kek))

    def rotate(self, tenant: Tenant, alg: str = "RS256") -> SigningKeyRow:
        """Add a key that is published now and signs after one JWKS cache lifetime; the
        previous key keeps verifying until every token it could have signed has expired."""
        self._keys(tenant)  # a tenant without keys gets its first one before rotating
        delay = self.settings.jwks_max_age + self.settings.tenant_cache_seconds
        keep_for = signed_token_lifetime(self.settings) + self.settings.tenant_cache_seconds + 1
        key = new_key(tenant, self.kek, alg)
        store.rotate(self.db, tenant.id, key, delay, keep_for)
        return next(r for r in store.all_keys(self.db, tenant.id) if r.kid == key.kid)


def _typ_matches(actual: Any, expected: str) -> bool:
    if not isinstance(actual, str):
        return False
    value = actual.lower()
    value = value.removeprefix("application/")
    return value == expected.lower().removeprefix("application/")
