"""OAuth core: signing keys; token format, resource-server flag, logout URI; wider grant_type

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01 09:40:00

Adds a table and columns with defaults, and widens ``tokens.grant_type`` to 64 characters
(the RFC 8628 device URN is 44): rows are untouched, so processes of the previous release keep
working during a rolling restart. Existing tenants get their first signing key lazily, when a
key is first needed (oauth/keys.py), because the key-encryption key is a server setting that
a migration does not see.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "signing_keys",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("kid", sa.String(length=64), nullable=False),
        sa.Column("alg", sa.String(length=16), nullable=False),
        sa.Column("public_jwk", sa.Text(), nullable=False),
        sa.Column("private_key", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("signs_from", sa.BigInteger(), nullable=False),
        sa.Column("retires_at", sa.BigInteger(), nullable=True),
        sa.Column("drop_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_signing_keys_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signing_keys")),
        sa.UniqueConstraint("kid", name=op.f("uq_signing_keys_kid")),
    )
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.create_index("ix_signing_keys_tenant_id", ["tenant_id"], unique=False)
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "access_token_format", sa.String(length=16), nullable=False, server_default="opaque"
            )
        )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("is_resource_server", sa.Boolean(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column(
                "post_logout_redirect_uri",
                sa.String(length=2048),
                nullable=False,
                server_default="",
            )
        )
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "grant_type",
            existing_type=sa.String(length=32),
            type_=sa.String(length=64),
            existing_nullable=False,
        )


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.alter_column(
            "grant_type",
            existing_type=sa.String(length=64),
            type_=sa.String(length=32),
            existing_nullable=False,
        )
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_column("post_logout_redirect_uri")
        batch_op.drop_column("is_resource_server")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_column("access_token_format")
    with op.batch_alter_table("signing_keys", schema=None) as batch_op:
        batch_op.drop_index("ix_signing_keys_tenant_id")
    op.drop_table("signing_keys")
