"""Upgrading keeps every row: data written at the first schema revision works after ``migrate``.

The rows are written straight into a database at revision 0001, as the first release left
them (tables reflected from that schema, secrets as digests, passwords as argon2 hashes),
then the real ``agave-server migrate`` brings the schema to head and a real server must find
and honour all of it: logins, clients, subscriptions, live, revoked and rotated tokens.
"""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import sqlalchemy as sa
from alembic.script import ScriptDirectory
from argon2 import PasswordHasher

from agave_server.storage import Database, migrate
from agave_server.storage.migrate import alembic_config
from agavepy.wire import DEFAULT_API_NAMES
from tests.scale.cluster import me_status
from tests.scale.dbcheck import alembic_versions, connect, count_rows
from tests.support.server import ServerProcess

PREVIOUS = "0001"
APIS = list(DEFAULT_API_NAMES)
KEY, SECRET = "LegacyKey0123456789abcdefABCDEF", "LegacySecret0123456789abcdefABCDEF0123456789"
LIVE_ACCESS, LIVE_REFRESH = "LiveAccess" + "a" * 33, "LiveRefresh" + "b" * 32
REVOKED_ACCESS, ROTATED_REFRESH = "RevokedAccess" + "c" * 30, "RotatedRefresh" + "d" * 29
TABLES = ["tenants", "users", "apis", "clients", "subscriptions", "tokens", "login_failures"]


def _sha(s: str) -> str:
    return hashlib.sha256(s.encode()).hexdigest()


def _write_release_one_data(db_url: str) -> None:
    """What a server at revision 0001 had stored: one tenant, two users, a client, tokens."""
    t = int(time.time())
    hasher = PasswordHasher()
    with connect(db_url) as conn:
        meta = sa.MetaData()
        meta.reflect(bind=conn)
        tb = meta.tables
        tid = conn.execute(
            tb["tenants"]
            .insert()
            .values(
                uuid="00000000-0000-4000-8000-000000000001",
                code="sd2e",
                name="SD2E Tenant",
                base_url="http://legacy.example.org/",
                host="legacy.example.org",
                created_at=t,
            )
        ).inserted_primary_key[0]
        alice = conn.execute(
            tb["users"]
            .insert()
            .values(
                tenant_id=tid,
                username="alice",
                password_hash=hasher.hash("pw-alice-legacy"),
                is_admin=False,
                email="alice@example.org",
                first_name="Alice",
                last_name="Legacy",
                created_at=t,
            )
        ).inserted_primary_key[0]
        conn.execute(
            tb["users"]
            .insert()
            .values(
                tenant_id=tid,
                username="root",
                password_hash=hasher.hash("pw-root-legacy"),
                is_admin=True,
                email="",
                first_name="",
                last_name="",
                created_at=t,
            )
        )
        api_ids = {}
        for name in APIS:
            api_ids[name] = conn.execute(
                tb["apis"]
                .insert()
                .values(
                    tenant_id=tid,
                    name=name,
                    version="v2",
                    provider="admin",
                    context=f"/{name.lower()}/v2",
                    status="PUBLISHED",
                    is_default=True,
                    created_at=t,
                )
            ).inserted_primary_key[0]
        cid = conn.execute(
            tb["clients"]
            .insert()
            .values(
                tenant_id=tid,
                user_id=alice,
                name="legacy",
                description="made by release one",
                consumer_key=KEY,
                secret_digest=_sha(SECRET),
                tier="Gold",
                callback_url="https://example.org/cb",
                created_at=t,
            )
        ).inserted_primary_key[0]
        for name in ("Profiles", "Apps"):
            conn.execute(
                tb["subscriptions"]
                .insert()
                .values(client_id=cid, api_id=api_ids[name], tier="Gold", created_at=t)
            )
        pair = {
            "tenant_id": tid,
            "client_id": cid,
            "user_id": alice,
            "grant_type": "password",
            "scope": "PRODUCTION",
            "issued_at": t,
            "access_expires_at": t + 3600,
            "refresh_expires_at": t + 86400,
            "parent_id": None,
        }
        conn.execute(
            tb["tokens"].insert(),
            [
                {
                    **pair,
                    "access_digest": _sha(LIVE_ACCESS),
                    "refresh_digest": _sha(LIVE_REFRESH),
                    "rotated_at": None,
                    "revoked_at": None,
                    "family_id": "f" * 32,
                },
                {
                    **pair,
                    "access_digest": _sha(REVOKED_ACCESS),
                    "refresh_digest": _sha("r2" * 20),
                    "rotated_at": None,
                    "revoked_at": t,
                    "family_id": "e" * 32,
                },
                {
                    **pair,
                    "access_digest": _sha("a3" * 20),
                    "refresh_digest": _sha(ROTATED_REFRESH),
                    "rotated_at": t,
                    "revoked_at": None,
                    "family_id": "d" * 32,
                },
            ],
        )
        conn.execute(
            tb["login_failures"]
            .insert()
            .values(key=f"user:{tid}:alice", window_start=t, failures=1)
        )
        conn.commit()


def _head() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def test_upgrade_from_previous_revision_keeps_all_data(fresh_db_url: str, tmp_path: Path):
    db = Database(fresh_db_url)
    migrate(db, PREVIOUS)
    db.dispose()
    assert alembic_versions(fresh_db_url) == [PREVIOUS]
    _write_release_one_data(fresh_db_url)
    before = {t: count_rows(fresh_db_url, t) for t in TABLES}

    # ServerProcess runs the real `agave-server migrate` (to head) before starting.
    with ServerProcess(tmp_path / "upgraded", db_url=fresh_db_url, tenants=()) as srv:
        assert alembic_versions(fresh_db_url) == [_head()] != [PREVIOUS]
        # Every row kept; migration 0007 adds each tenant's built-in `agave login` client: its
        # service account, the client, and a subscription to every API of the catalogue.
        builtin = {"users": 1, "clients": 1, "subscriptions": before["apis"]}
        after = {t: count_rows(fresh_db_url, t) for t in TABLES}
        assert after == {t: n + builtin.get(t, 0) for t, n in before.items()}
        assert "sd2e" in srv.admin("tenants", "list").stdout

        with srv.client() as c:
            alice = ("alice", "pw-alice-legacy")
            listed = c.get("/clients/v2", auth=alice).json()["result"]
            assert [(x["name"], x["consumerKey"], x["tier"], x["description"]) for x in listed] == [
                ("legacy", KEY, "Gold", "made by release one")
            ]
            subs = c.get("/clients/v2/legacy/subscriptions", auth=alice).json()["result"]
            assert sorted(s["apiName"] for s in subs) == ["Apps", "Profiles"]

            r = c.get("/profiles/v2/me", headers={"Authorization": f"Bearer {LIVE_ACCESS}"})
            assert r.status_code == 200 and r.json()["result"]["email"] == "alice@example.org"
            assert me_status(c, REVOKED_ACCESS) == 401

            # The rotated refresh token is recognised as reused; the live one rotates.
            r = c.post(
                "/token",
                auth=(KEY, SECRET),
                data={"grant_type": "refresh_token", "refresh_token": ROTATED_REFRESH},
            )
            assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
            r = c.post(
                "/token",
                auth=(KEY, SECRET),
                data={"grant_type": "refresh_token", "refresh_token": LIVE_REFRESH},
            )
            assert r.status_code == 200, r.text
            assert me_status(c, r.json()["access_token"]) == 200
            assert me_status(c, LIVE_ACCESS) == 401

            # root is still an administrator: it may get a token on alice's behalf.
            root = ("root", "pw-root-legacy")
            made = c.post("/clients/v2", auth=root, data={"clientName": "ops"}).json()["result"]
            r = c.post(
                "/token",
                auth=(made["consumerKey"], made["consumerSecret"]),
                data={
                    "grant_type": "admin_password",
                    "username": "root",
                    "password": "pw-root-legacy",
                    "token_username": "alice",
                },
            )
            assert r.status_code == 200, r.text
            r = c.post("/clients/v2", auth=alice, data={"clientName": "after-upgrade"})
            assert r.status_code == 201, r.text

    with connect(fresh_db_url) as conn:  # what the new revision added is there
        assert conn.execute(sa.text("SELECT job FROM housekeeping")).scalars().all() == ["purge"]
