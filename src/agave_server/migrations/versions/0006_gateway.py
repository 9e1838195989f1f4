"""gateway: API backends, per-tenant tier limits, request counters

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 09:40:00

Adds only (a column with a default and two tables): processes of the previous release keep
working on the upgraded schema during a rolling restart.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    with op.batch_alter_table("apis", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("backend_url", sa.String(length=2048), server_default="", nullable=False)
        )
    op.create_table(
        "tiers",
        sa.Column("tenant_id", _ID, nullable=False),
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("request_limit", sa.Integer(), nullable=True),
        sa.Column("period_seconds", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_tiers_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "name", name=op.f("pk_tiers")),
    )
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("window_start", sa.BigInteger(), nullable=False),
        sa.Column("hits", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_counters")),
    )


def downgrade() -> None:
    op.drop_table("rate_counters")
    op.drop_table("tiers")
    with op.batch_alter_table("apis", schema=None) as batch_op:
        batch_op.drop_column("backend_url")
