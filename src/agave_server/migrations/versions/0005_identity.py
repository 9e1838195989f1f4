"""identity backends: per-tenant identity settings, upstream OIDC providers, federated users

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 09:45:00

Adds tables only: a tenant without a ``tenant_identity`` row keeps today's behaviour (local
passwords), so processes of the previous release keep working during a rolling restart.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "tenant_identity",
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("local_login", sa.Boolean(), server_default="1", nullable=False),
        sa.Column("ldap", sa.Text(), server_default="", nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tenant_identity_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_tenant_identity")),
    )
    op.create_table(
        "upstream_providers",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("issuer", sa.String(length=1024), nullable=False),
        sa.Column("client_id", sa.String(length=255), nullable=False),
        sa.Column("client_secret", sa.String(length=1024), nullable=False),
        sa.Column(
            "username_claim",
            sa.String(length=64),
            server_default="preferred_username",
            nullable=False,
        ),
        sa.Column(
            "scope", sa.String(length=255), server_default="openid email profile", nullable=False
        ),
        sa.Column("email_domains", sa.Text(), server_default="", nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_upstream_providers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_upstream_providers")),
        sa.UniqueConstraint("tenant_id", "name", name="uq_upstream_providers_tenant_name"),
    )
    op.create_table(
        "federated_identities",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("issuer", sa.String(length=1024), nullable=False),
        sa.Column("subject", sa.String(length=255), nullable=False),
        sa.Column("user_id", Id, nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_login_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_federated_identities_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_federated_identities_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_federated_identities")),
        sa.UniqueConstraint(
            "tenant_id", "issuer", "subject", name="uq_federated_identities_subject"
        ),
    )
    with op.batch_alter_table("federated_identities", schema=None) as batch_op:
        batch_op.create_index("ix_federated_identities_user_id", ["user_id"], unique=False)
    op.create_table(
        "upstream_logins",
        sa.Column("state_digest", sa.String(length=64), nullable=False),
        sa.Column("tenant_id", Id, nullable=False),
        sa.Column("upstream_id", Id, nullable=False),
        sa.Column("browser_digest", sa.String(length=64), nullable=False),
        sa.Column("next_path", sa.String(length=2048), server_default="", nullable=False),
        sa.Column("expires_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_upstream_logins_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["upstream_id"],
            ["upstream_providers.id"],
            name=op.f("fk_upstream_logins_upstream_id_upstream_providers"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("state_digest", name=op.f("pk_upstream_logins")),
    )
    with op.batch_alter_table("upstream_logins", schema=None) as batch_op:
        batch_op.create_index("ix_upstream_logins_expires_at", ["expires_at"], unique=False)


def downgrade() -> None:
    op.drop_table("upstream_logins")
    op.drop_table("federated_identities")
    op.drop_table("upstream_providers")
    op.drop_table("tenant_identity")
