"""Migration 0007 gives tenants that existed before it their built-in ``agave-cli`` client."""

from __future__ import annotations

import subprocess

from sqlalchemy import text

from agave_server.storage import Database
from agave_server.storage.migrate import migrate
from tests.support.server import AGAVE_SERVER, CHEAP_ARGON2


def test_existing_tenant_gets_the_cli_client(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database(url)
    migrate(db, "0004")  # the schema before this branch
    with db.write() as conn:
        conn.execute(
            text(
                "INSERT INTO tenants (uuid, code, name, base_url, host, created_at) "
                "VALUES ('u-old', 'old', 'Old', 'http://127.0.0.1:9/', '127.0.0.1:9', 0)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO apis (tenant_id, name, version, provider, context, created_at) "
                "VALUES (1, 'Profiles', 'v2', 'admin', '/profiles/v2', 0)"
            )
        )
    db.dispose()
    env = {**CHEAP_ARGON2, "AGAVE_SERVER_DB": url, "AGAVE_SERVER_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [AGAVE_SERVER, "migrate"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    with db.read() as conn:
        client = conn.execute(
            text("SELECT id, name, consumer_key, tier FROM clients WHERE tenant_id = 1")
        ).one()
        subs = conn.execute(
            text("SELECT tier FROM subscriptions WHERE client_id = :c"), {"c": client.id}
        ).all()
    assert (client.name, client.consumer_key, client.tier) == (
        "agave-cli",
        "agave-cli.u-old",
        "Unlimited",
    )
    assert [s.tier for s in subs] == ["Unlimited"]
    listed = subprocess.run(
        [AGAVE_SERVER, "users", "list", "--tenant", "old"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0 and "!builtin" not in listed.stdout  # no person's account
    db.dispose()
