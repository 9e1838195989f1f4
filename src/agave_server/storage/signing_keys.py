"""A tenant's token-signing keys: the rows behind the JWKS and the signing key (oauth/keys.py).

A key is published (in the JWKS) from its creation until ``drop_at``; it signs from
``signs_from`` until ``retires_at``, which is the next key's ``signs_from``. Rotation is one
transaction: the newest key gets its retirement and drop times, and the new key is inserted.
The private key column holds only ciphertext (oauth/keys.py encrypts it).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, delete, insert, or_, select, update

from ..models import signing_keys, tenants
from .database import Database, now


@dataclass(frozen=True)
class SigningKeyRow:
    id: int
    tenant_id: int
    kid: str
    alg: str
    public_jwk: str
    private_key: str  # ciphertext
    created_at: int
    signs_from: int
    retires_at: int | None
    drop_at: int | None


@dataclass(frozen=True)
class NewKey:
    kid: str
    alg: str
    public_jwk: str
    private_key: str  # ciphertext


def _row(row) -> SigningKeyRow:
    return SigningKeyRow(**dict(row._mapping))


def published(db: Database, tenant_id: int, at: int | None = None) -> list[SigningKeyRow]:
    """The tenant's keys still published at ``at`` (default now), oldest first."""
    t = now() if at is None else at
    with db.read() as conn:
        rows = conn.execute(
            select(signing_keys)
            .where(
                signing_keys.c.tenant_id == tenant_id,
                or_(signing_keys.c.drop_at.is_(None), signing_keys.c.drop_at > t),
            )
            .order_by(signing_keys.c.signs_from, signing_keys.c.id)
        ).all()
    return [_row(r) for r in rows]


def _lock_tenant(conn: Connection, tenant_id: int) -> bool:
    """Serialise key changes of one tenant (FOR UPDATE on PostgreSQL; SQLite has one writer)."""
    row = conn.execute(
        select(tenants.c.id).where(tenants.c.id == tenant_id).with_for_update()
    ).first()
    return row is not None


def _insert(conn: Connection, tenant_id: int, key: NewKey, signs_from: int) -> None:
    conn.execute(
        insert(signing_keys).values(
            tenant_id=tenant_id,
            kid=key.kid,
            alg=key.alg,
            public_jwk=key.public_jwk,
            private_key=key.private_key,
            created_at=now(),
            signs_from=signs_from,
        )
    )


def add_first_in(conn: Connection, tenant_id: int, key: NewKey) -> None:
    """The first key of a new tenant, inside the caller's transaction: it signs at once."""
    _insert(conn, tenant_id, key, now())


def ensure_first(db: Database, tenant_id: int, key: NewKey) -> bool:
    """Store ``key`` as the tenant's first key unless it has one; True when stored."""
    with db.write() as conn:
        if not _lock_tenant(conn, tenant_id):
            return False
        exists = conn.execute(
            select(signing_keys.c.id).where(signing_keys.c.tenant_id == tenant_id).limit(1)
        ).first()
        if exists:
            return False
        _insert(conn, tenant_id, key, now())
    return True


def rotate(db: Database, tenant_id: int, key: NewKey, delay: int, keep_for: int) -> int:
    """Add ``key``, signing ``delay`` seconds from now; the newest key before it retires then
    and is dropped ``keep_for`` seconds later. Returns the new key's ``signs_from``."""
    with db.write() as conn:
        _lock_tenant(conn, tenant_id)
        newest = conn.execute(
            select(signing_keys.c.id)
            .where(signing_keys.c.tenant_id == tenant_id)
            .order_by(signing_keys.c.signs_from.desc(), signing_keys.c.id.desc())
            .limit(1)
        ).first()
        starts = now() + (delay if newest else 0)
        if newest:
            conn.execute(
                update(signing_keys)
                .where(signing_keys.c.id == newest.id)
                .values(retires_at=starts, drop_at=starts + keep_for)
            )
        _insert(conn, tenant_id, key, starts)
    return starts


def purge(db: Database) -> int:
    """Delete keys past their drop time (they are no longer published anyway)."""
    with db.write() as conn:
        return conn.execute(
            delete(signing_keys).where(
                signing_keys.c.drop_at.is_not(None), signing_keys.c.drop_at <= now()
            )
        ).rowcount


def all_keys(db: Database, tenant_id: int) -> list[SigningKeyRow]:
    """Every stored key of the tenant, dropped ones included (``keys list``)."""
    with db.read() as conn:
        rows = conn.execute(
            select(signing_keys)
            .where(signing_keys.c.tenant_id == tenant_id)
            .order_by(signing_keys.c.signs_from, signing_keys.c.id)
        ).all()
    return [_row(r) for r in rows]
