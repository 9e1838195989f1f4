"""Users signed in through upstream providers, and the upstream sign-ins in progress (0005)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..models import federated_identities, upstream_logins, users
from .database import Database, now
from .records import UpstreamLogin, User
from .users import UPSTREAM_MARKER


class NoFreeUsername(Exception):
    """Every candidate username is taken."""


def find_user(db: Database, tenant_id: int, issuer: str, subject: str) -> User | None:
    """The tenant's user for the upstream's (issuer, sub), if they signed in before."""
    with db.read() as conn:
        row = conn.execute(
            select(users)
            .join(federated_identities, federated_identities.c.user_id == users.c.id)
            .where(
                federated_identities.c.tenant_id == tenant_id,
                federated_identities.c.issuer == issuer,
                federated_identities.c.subject == subject,
            )
        ).first()
    return User(**dict(row._mapping)) if row else None


def touch(db: Database, tenant_id: int, issuer: str, subject: str) -> None:
    with db.write() as conn:
        conn.execute(
            update(federated_identities)
            .where(
                federated_identities.c.tenant_id == tenant_id,
                federated_identities.c.issuer == issuer,
                federated_identities.c.subject == subject,
            )
            .values(last_login_at=now())
        )


def _taken(conn, tenant_id: int, username: str) -> bool:
    return (
        conn.execute(
            select(users.c.id).where(users.c.tenant_id == tenant_id, users.c.username == username)
        ).first()
        is not None
    )


def create_user(
    db: Database,
    tenant_id: int,
    issuer: str,
    subject: str,
    candidates: Iterable[str],
    email: str,
    first_name: str,
    last_name: str,
) -> User:
    """A new user for (issuer, sub) under the first free candidate name, in one transaction.

    Never an existing user: a local or directory account of the same name is someone else.
    If another request created the (issuer, sub) first, that user is returned.
    """
    names = list(candidates)
    for _attempt in range(3):
        try:
            with db.write() as conn:
                name = next((c for c in names if not _taken(conn, tenant_id, c)), None)
                if name is None:
                    raise NoFreeUsername()
                stamp = now()
                values = {
                    "tenant_id": tenant_id,
                    "username": name,
                    "password_hash": UPSTREAM_MARKER,
                    "is_admin": False,
                    "email": email,
                    "first_name": first_name,
                    "last_name": last_name,
                    "created_at": stamp,
                }
                user_id = conn.execute(insert(users).values(**values)).inserted_primary_key[0]
                conn.execute(
                    insert(federated_identities).values(
                        tenant_id=tenant_id,
                        issuer=issuer,
                        subject=subject,
                        user_id=user_id,
                        created_at=stamp,
                        last_login_at=stamp,
                    )
                )
            return User(id=user_id, **values)
        except IntegrityError:
            existing = find_user(db, tenant_id, issuer, subject)
            if existing is not None:
                return existing  # a concurrent first sign-in of the same person won
            # else a concurrent sign-up took the name: try the candidates again
    raise NoFreeUsername()


def add_login(db: Database, login: UpstreamLogin) -> None:
    with db.write() as conn:
        conn.execute(delete(upstream_logins).where(upstream_logins.c.expires_at < now()))
        conn.execute(insert(upstream_logins).values(**login.__dict__))


def take_login(db: Database, state_digest: str) -> UpstreamLogin | None:
    """The sign-in started with this state, removed so that its callback works only once."""
    with db.write() as conn:
        row = conn.execute(
            select(upstream_logins).where(upstream_logins.c.state_digest == state_digest)
        ).first()
        if row is None:
            return None
        taken = conn.execute(
            delete(upstream_logins).where(upstream_logins.c.state_digest == state_digest)
        ).rowcount
    return UpstreamLogin(**dict(row._mapping)) if taken == 1 else None
