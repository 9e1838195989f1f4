"""SQL of the audit log: append an entry, read a tenant's entries since a time."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, insert, select

from ..models import audit_log, tenants
from .database import Database


@dataclass(frozen=True)
class AuditEntry:
    id: int
    tenant_code: str
    at: int
    actor: str
    action: str
    target: str
    address: str
    detail: str  # JSON text


def tenant_code(conn: Connection, tenant_id: int) -> str:
    """The code of a tenant (empty if it is gone)."""
    row = conn.execute(select(tenants.c.code).where(tenants.c.id == tenant_id)).first()
    return row.code if row is not None else ""


def append(conn: Connection, values: dict) -> None:
    conn.execute(insert(audit_log).values(**values))


def entries(
    db: Database, codes: tuple[str, ...] | None, since: int, limit: int
) -> list[AuditEntry]:
    """Entries of these tenant codes (all with None) at or after ``since`` (Unix seconds),
    oldest first, at most ``limit`` (the newest ones when there are more)."""
    c = audit_log.c
    newest = (
        select(c.id, c.tenant_code, c.at, c.actor, c.action, c.target, c.address, c.detail)
        .where(c.at >= since)
        .order_by(c.id.desc())
        .limit(limit)
    )
    if codes is not None:
        newest = newest.where(c.tenant_code.in_(codes))
    with db.read() as conn:
        rows = conn.execute(newest).all()
    return [AuditEntry(*row) for row in reversed(rows)]
