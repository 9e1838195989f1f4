"""device authorizations (RFC 8628) and each tenant's built-in agave-cli client

Revision ID: 0007
Revises: 0004
Create Date: 2026-12-01 09:50:00

Adds a table, and for every existing tenant a service account owning the built-in public
client ``agave-cli`` subscribed to the whole catalogue (new tenants get theirs when created).
Existing rows are untouched, so the previous release keeps working on the upgraded schema.
"""

from __future__ import annotations

import time

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "device_codes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("client_id", Id, nullable=False),
        sa.Column("device_digest", sa.String(length=64), nullable=False),
        sa.Column("user_code", sa.String(length=16), nullable=False),
        sa.Column("scope", sa.String(length=255), server_default="", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.Column("interval", sa.Integer(), nullable=False),
        sa.Column("last_poll_ms", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("user_id", Id, nullable=True),
        sa.Column("decided_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_device_codes_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["client_id"],
            ["clients.id"],
            name=op.f("fk_device_codes_client_id_clients"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_device_codes_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_device_codes")),
        sa.UniqueConstraint("device_digest", name=op.f("uq_device_codes_device_digest")),
        sa.UniqueConstraint("tenant_id", "user_code", name="uq_device_codes_tenant_user_code"),
    )
    with op.batch_alter_table("device_codes", schema=None) as batch_op:
        batch_op.create_index("ix_device_codes_expires_at", ["expires_at"], unique=False)

    _create_builtin_clients(op.get_bind())


# The tables as this revision knows them (not models.py, which later revisions change).
_meta = sa.MetaData()
_tenants = sa.table("tenants", sa.column("id"), sa.column("uuid"))
_users = sa.Table(
    "users",
    _meta,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id"),
    sa.Column("username"),
    sa.Column("password_hash"),
    sa.Column("is_admin"),
    sa.Column("created_at"),
)
_clients = sa.Table(
    "clients",
    _meta,
    sa.Column("id", Id, primary_key=True),
    sa.Column("tenant_id"),
    sa.Column("user_id"),
    sa.Column("name"),
    sa.Column("description"),
    sa.Column("consumer_key"),
    sa.Column("secret_digest"),
    sa.Column("tier"),
    sa.Column("callback_url"),
    sa.Column("created_at"),
)
_apis = sa.table("apis", sa.column("id"), sa.column("tenant_id"))
_subscriptions = sa.table(
    "subscriptions",
    sa.column("client_id"),
    sa.column("api_id"),
    sa.column("tier"),
    sa.column("created_at"),
)


def _create_builtin_clients(conn) -> None:
    """What storage.builtin_clients.create_in does for a new tenant, for each existing one."""
    t = int(time.time())
    for tenant in conn.execute(sa.select(_tenants.c.id, _tenants.c.uuid)).all():
        owner_id = conn.execute(
            sa.insert(_users).values(
                tenant_id=tenant.id,
                username="!builtin",
                password_hash="!",
                is_admin=False,
                created_at=t,
            )
        ).inserted_primary_key[0]
        client_id = conn.execute(
            sa.insert(_clients).values(
                tenant_id=tenant.id,
                user_id=owner_id,
                name="agave-cli",
                description="The agave command line (built in: device and browser login)",
                consumer_key=f"agave-cli.{tenant.uuid}",
                secret_digest="!",
                tier="Unlimited",
                callback_url="http://127.0.0.1/callback",
                created_at=t,
            )
        ).inserted_primary_key[0]
        api_ids = conn.execute(sa.select(_apis.c.id).where(_apis.c.tenant_id == tenant.id))
        rows = [
            {"client_id": client_id, "api_id": a.id, "tier": "Unlimited", "created_at": t}
            for a in api_ids
        ]
        if rows:
            conn.execute(sa.insert(_subscriptions), rows)


def downgrade() -> None:
    conn = op.get_bind()
    conn.execute(
        sa.text(
            "DELETE FROM clients WHERE user_id IN "
            "(SELECT id FROM users WHERE username = '!builtin')"
        )
    )
    conn.execute(sa.text("DELETE FROM users WHERE username = '!builtin'"))
    op.drop_table("device_codes")
