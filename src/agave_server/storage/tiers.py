"""The tier limits an operator set for a tenant (``agave-server tiers set``).

Only overrides are stored: a tier without a row keeps WSO2 API Manager's default, which
``services.tiers`` knows. ``request_limit`` NULL means unlimited.
"""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from ..models import tiers
from .database import Database, now


def overrides(db: Database, tenant_id: int) -> dict[str, tuple[int | None, int]]:
    """``{tier name: (limit or None, period seconds)}`` for the tiers this tenant changed."""
    with db.read() as conn:
        rows = conn.execute(
            select(tiers.c.name, tiers.c.request_limit, tiers.c.period_seconds).where(
                tiers.c.tenant_id == tenant_id
            )
        ).all()
    return {r.name: (r.request_limit, r.period_seconds) for r in rows}


def set_limit(db: Database, tenant_id: int, name: str, limit: int | None, period: int) -> None:
    """Insert or replace one tier's limit for the tenant."""
    values = {
        "tenant_id": tenant_id,
        "name": name,
        "request_limit": limit,
        "period_seconds": period,
        "updated_at": now(),
    }
    with db.write() as conn:
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        stmt = insert(tiers).values(**values)
        stmt = stmt.on_conflict_do_update(
            index_elements=[tiers.c.tenant_id, tiers.c.name],
            set_={
                "request_limit": stmt.excluded.request_limit,
                "period_seconds": stmt.excluded.period_seconds,
                "updated_at": stmt.excluded.updated_at,
            },
        )
        conn.execute(stmt)


def reset(db: Database, tenant_id: int, name: str) -> bool:
    """Back to the default; False if the tier had no override."""
    with db.write() as conn:
        return bool(
            conn.execute(
                delete(tiers).where(tiers.c.tenant_id == tenant_id, tiers.c.name == name)
            ).rowcount
        )
