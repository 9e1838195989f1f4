"""housekeeping table for the periodic purge; indexes for listing clients and purging tokens

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28 04:45:00

Adds only (a table, a row and two indexes): existing rows are untouched, so processes of the
previous release keep working on the upgraded schema during a rolling restart.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    housekeeping = op.create_table(
        "housekeeping",
        sa.Column("job", sa.String(length=64), nullable=False),
        sa.Column("last_run", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("job", name=op.f("pk_housekeeping")),
    )
    op.bulk_insert(housekeeping, [{"job": "purge", "last_run": 0}])
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.create_index("ix_clients_user_id_id", ["user_id", "id"], unique=False)
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.create_index("ix_tokens_revoked_at", ["revoked_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tokens", schema=None) as batch_op:
        batch_op.drop_index("ix_tokens_revoked_at")
    with op.batch_alter_table("clients", schema=None) as batch_op:
        batch_op.drop_index("ix_clients_user_id_id")
    op.drop_table("housekeeping")
