"""Secrets at rest: the database and the log hold no password, consumer
secret, access token (opaque or JWT), refresh token or private signing key in
a form anyone can use.

The test issues each kind of secret through the real server, then reads the
raw bytes of the SQLite files (database, WAL and shared memory) or every row
of every PostgreSQL table, and the server's whole log.
"""

from __future__ import annotations

import os
from pathlib import Path

import httpx
import pytest

from tests.conftest import User, unique_name
from tests.hardening.api import create_client, login, pair_of, profile, refresh_grant
from tests.support.server import ServerProcess


def _issue_secrets(srv: ServerProcess) -> list[str]:
    """Create users, clients and tokens (and some failures); return every secret seen."""
    secrets_seen: list[str] = []
    with srv.client() as http:
        for admin in (False, True):
            user = User(unique_name("sec"), "pw-" + unique_name("Secret"))
            srv.add_user(user.username, user.password, admin=admin)
            client = create_client(http, user)
            first = login(http, client, user)
            second = pair_of(refresh_grant(http, client, first.refresh))
            assert profile(http, second.access).status_code == 200
            # Failures and odd placements must not be logged either.
            http.post(
                "/token",
                auth=client.auth,
                data={
                    "grant_type": "password",
                    "username": user.username,
                    "password": user.password + "-typo",
                },
            )
            http.get("/clients/v2", auth=(user.username, user.password + "-typo"))
            http.get("/profiles/v2/me", params={"access_token": second.access})
            http.post("/revoke", auth=client.auth, data={"token": second.refresh})
            # The same with JWT access tokens (RFC 9068): stored as digests too.
            srv.admin("tenants", "update", "sd2e", "--access-token-format", "jwt")
            signed = login(http, client, user)
            assert signed.access.count(".") == 2
            signed_next = pair_of(refresh_grant(http, client, signed.refresh))
            http.post("/oauth2/introspect", auth=client.auth, data={"token": signed_next.access})
            http.get("/oauth2/jwks")
            srv.admin("tenants", "update", "sd2e", "--access-token-format", "opaque")
            secrets_seen += [signed.access, signed.refresh, signed_next.access]
            secrets_seen += [
                user.password,
                user.password + "-typo",
                client.secret,
                first.access,
                first.refresh,
                second.access,
                second.refresh,
            ]
    return secrets_seen


def _private_key_material(srv: ServerProcess) -> list[str]:
    """Every form in which the tenant's private signing keys could leak: PEM lines, the
    PKCS#8 DER in base64, and the private JWK members (decrypted with the server's own
    key-encryption key from its data directory, as only the server can)."""
    import base64

    from cryptography.hazmat.primitives import serialization

    from agave_server.config import Settings
    from agave_server.oauth.keys import KeyRing
    from agave_server.storage import Database
    from agave_server.storage.tenants import get_tenant

    settings = Settings.load(db=srv.db_url, data_dir=srv.workdir)
    db = Database(settings.db_url)
    try:
        ring = KeyRing(db, settings)
        tenant = get_tenant(db, "sd2e")
        forms: list[str] = []
        for key in ring.published(tenant):
            private_key = ring.private_key(tenant, key)
            pem = private_key.as_pem(private=True)
            lines = [ln for ln in pem.decode().splitlines() if ln and "-----" not in ln]
            der = serialization.load_pem_private_key(pem, None).private_bytes(
                serialization.Encoding.DER,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            private_jwk = private_key.as_dict(private=True)
            forms += [*lines, base64.b64encode(der).decode()]
            forms += [v for m, v in private_jwk.items() if m in ("d", "p", "q", "dp", "dq", "qi")]
        assert forms
        return forms
    finally:
        db.dispose()


def _sqlite_bytes(srv: ServerProcess) -> bytes:
    path = Path(srv.db_url.removeprefix("sqlite:///"))
    files = [p for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm")) if p.exists()]
    assert path in files
    return b"".join(p.read_bytes() for p in files)


def _postgres_text(srv: ServerProcess) -> bytes:
    import psycopg

    url = srv.db_url.replace("postgresql+psycopg://", "postgresql://", 1)
    dump = []
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
        assert tables
        for (table,) in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                dump.append(repr(row))
    return "\n".join(dump).encode()


def test_no_secret_is_stored_or_logged_in_plaintext(make_server) -> None:
    # With the access log on (off by default), so that every request is in the log.
    srv = make_server(
        env={"AGAVE_SERVER_ACCESS_LOG": "1", "AGAVE_SERVER_TENANT_CACHE_SECONDS": "0"}
    )
    secrets_seen = _issue_secrets(srv)
    on_postgres = srv.db_url.startswith("postgresql")
    stored = b"" if on_postgres else _sqlite_bytes(srv)  # WAL included, before checkpoint
    srv.stop()
    stored += _postgres_text(srv) if on_postgres else _sqlite_bytes(srv)
    log = srv.log_path.read_bytes()
    assert log, "the server wrote no log at all; the check would be vacuous"
    for secret in secrets_seen:
        assert secret.encode() not in stored, "a secret is stored in plaintext"
        assert secret.encode() not in log, "a secret is in the server log"
    for material in _private_key_material(srv):
        assert material.encode() not in stored, "a private signing key is stored in plaintext"
        assert material.encode() not in log, "a private signing key is in the server log"


def test_the_key_encryption_key_is_private_and_not_in_the_database(make_server) -> None:
    """The key that decrypts the signing keys lives beside the database, never in it."""
    srv = make_server()
    with srv.client() as http:
        assert http.get("/oauth2/jwks").status_code == 200
    kek_file = srv.workdir / "signing-keys.kek"
    assert kek_file.stat().st_mode & 0o077 == 0, oct(kek_file.stat().st_mode)
    kek = kek_file.read_text().strip()
    on_postgres = srv.db_url.startswith("postgresql")
    srv.stop()
    stored = _postgres_text(srv) if on_postgres else _sqlite_bytes(srv)
    assert kek.encode() not in stored


def test_the_data_directory_is_private(make_server) -> None:
    """On SQLite the database file is readable by its owner only."""
    srv = make_server()
    if not srv.db_url.startswith("sqlite"):
        pytest.skip("PostgreSQL keeps its own files")
    mode = os.stat(srv.db_url.removeprefix("sqlite:///")).st_mode & 0o777
    assert mode & 0o077 == 0, oct(mode)


def test_error_bodies_never_echo_a_password(http: httpx.Client, user) -> None:
    """agavepy 0.9.5 prints error bodies; a body that repeats the password leaks it."""
    client = create_client(http, user)
    typo = user.password + "-typo"
    res = http.post(
        "/token",
        auth=client.auth,
        data={"grant_type": "password", "username": user.username, "password": typo},
    )
    assert res.status_code == 400
    assert typo not in res.text
    res = http.get("/clients/v2", auth=(user.username, typo))
    assert res.status_code == 401 and typo not in res.text
