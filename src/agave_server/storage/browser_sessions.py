"""Browser sessions: who is signed in to a tenant's pages, by the digest of the cookie's id.

The row is the truth, so sign-out and "sign out everywhere" take effect in every process at
once; the cookie alone proves nothing once its row is ended or expired.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, or_, select, update

from ..models import browser_sessions, users
from .database import Database, now
from .records import User
from .users import USER_FIELDS, user_from_values


@dataclass(frozen=True)
class BrowserSession:
    """A live session and its user."""

    id: int
    tenant_id: int
    user: User
    auth_time: int
    expires_at: int


def start(db: Database, tenant_id: int, user_id: int, id_digest: str, lifetime: int) -> int:
    """Store a new session (the caller made the id); returns its row id."""
    t = now()
    with db.write() as conn:
        return conn.execute(
            insert(browser_sessions).values(
                tenant_id=tenant_id,
                user_id=user_id,
                id_digest=id_digest,
                auth_time=t,
                expires_at=t + lifetime,
            )
        ).inserted_primary_key[0]


def find_live(db: Database, tenant_id: int, id_digest: str) -> BrowserSession | None:
    """The session with this id digest in this tenant, if it has not ended or expired."""
    query = (
        select(
            browser_sessions.c.id,
            browser_sessions.c.auth_time,
            browser_sessions.c.expires_at,
            *users.c,
        )
        .join(users, users.c.id == browser_sessions.c.user_id)
        .where(
            browser_sessions.c.id_digest == id_digest,
            browser_sessions.c.tenant_id == tenant_id,
            browser_sessions.c.ended_at.is_(None),
            browser_sessions.c.expires_at > now(),
        )
    )
    with db.read() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    return BrowserSession(
        id=row[0],
        tenant_id=tenant_id,
        auth_time=row[1],
        expires_at=row[2],
        user=user_from_values(row[3 : 3 + len(USER_FIELDS)]),
    )


def end(db: Database, tenant_id: int, id_digest: str) -> int | None:
    """End one session; returns its user id (None if there was no live one)."""
    with db.write() as conn:
        row = conn.execute(
            select(browser_sessions.c.user_id).where(
                browser_sessions.c.id_digest == id_digest,
                browser_sessions.c.tenant_id == tenant_id,
                browser_sessions.c.ended_at.is_(None),
            )
        ).first()
        if row is None:
            return None
        conn.execute(
            update(browser_sessions)
            .where(browser_sessions.c.id_digest == id_digest)
            .values(ended_at=now())
        )
        return row.user_id


def end_all(db: Database, user_id: int) -> int:
    """End every live session of a user (sign out everywhere); returns how many."""
    with db.write() as conn:
        return conn.execute(
            update(browser_sessions)
            .where(browser_sessions.c.user_id == user_id, browser_sessions.c.ended_at.is_(None))
            .values(ended_at=now())
        ).rowcount


def count_live(db: Database, user_id: int) -> int:
    with db.read() as conn:
        return len(
            conn.execute(
                select(browser_sessions.c.id).where(
                    browser_sessions.c.user_id == user_id,
                    browser_sessions.c.ended_at.is_(None),
                    browser_sessions.c.expires_at > now(),
                )
            ).all()
        )


def purge(db: Database) -> int:
    """Drop ended and expired sessions (housekeeping)."""
    with db.write() as conn:
        return conn.execute(
            delete(browser_sessions).where(
                or_(
                    browser_sessions.c.ended_at.is_not(None),
                    browser_sessions.c.expires_at <= now(),
                )
            )
        ).rowcount
