"""One-time password-reset links: a tenant admin makes one, the user redeems it once.

Only the SHA-256 digest of the link's secret is stored; a link works until it is used, it
expires, or a newer link for the same user is made.
"""

from __future__ import annotations

from sqlalchemy import insert, select, update

from ..models import password_resets, users
from .database import Database, now


def create(db: Database, tenant_id: int, user_id: int, token_digest: str, lifetime: int) -> None:
    """Store a new link, ending any earlier unused link of the user."""
    t = now()
    with db.write() as conn:
        conn.execute(
            update(password_resets)
            .where(password_resets.c.user_id == user_id, password_resets.c.used_at.is_(None))
            .values(used_at=t)
        )
        conn.execute(
            insert(password_resets).values(
                tenant_id=tenant_id,
                user_id=user_id,
                digest=token_digest,
                created_at=t,
                expires_at=t + lifetime,
            )
        )


def find_live(db: Database, tenant_id: int, token_digest: str) -> int | None:
    """The user id a live link (unused, unexpired) of this tenant is for."""
    with db.read() as conn:
        row = conn.execute(
            select(password_resets.c.user_id).where(
                password_resets.c.digest == token_digest,
                password_resets.c.tenant_id == tenant_id,
                password_resets.c.used_at.is_(None),
                password_resets.c.expires_at > now(),
            )
        ).first()
    return row[0] if row else None


def redeem(db: Database, tenant_id: int, token_digest: str, password_hash: str) -> int | None:
    """Use the link once: set the user's password in the same transaction; the user id or None.

    The conditional UPDATE decides: of two tabs submitting the same link, one wins.
    """
    t = now()
    with db.write() as conn:
        row = conn.execute(
            select(password_resets.c.id, password_resets.c.user_id).where(
                password_resets.c.digest == token_digest,
                password_resets.c.tenant_id == tenant_id,
                password_resets.c.used_at.is_(None),
                password_resets.c.expires_at > t,
            )
        ).first()
        if row is None:
            return None
        claimed = conn.execute(
            update(password_resets)
            .where(password_resets.c.id == row.id, password_resets.c.used_at.is_(None))
            .values(used_at=t)
        ).rowcount
        if claimed != 1:
            return None
        conn.execute(
            update(users).where(users.c.id == row.user_id).values(password_hash=password_hash)
        )
        return row.user_id
