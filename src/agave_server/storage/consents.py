"""Remembered consents: the scopes a user allowed a client, so the page is not shown again.

Whether a consent may be remembered at all (confidential client, exact redirect URI) is the
caller's decision; this module only stores and reads it.
"""

from __future__ import annotations

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..models import consents
from .database import Database, now


def granted_scope(db: Database, user_id: int, client_id: int) -> set[str]:
    """The scopes the user allowed this client (empty when never asked or withdrawn)."""
    with db.read() as conn:
        row = conn.execute(
            select(consents.c.scope).where(
                consents.c.user_id == user_id, consents.c.client_id == client_id
            )
        ).first()
    return set(row.scope.split()) if row else set()


def remember(db: Database, user_id: int, client_id: int, scopes: set[str]) -> None:
    """Add ``scopes`` to what the user allowed the client."""
    try:
        _remember(db, user_id, client_id, scopes)
    except IntegrityError:  # a concurrent first consent inserted the row: merge into it
        _remember(db, user_id, client_id, scopes)


def _remember(db: Database, user_id: int, client_id: int, scopes: set[str]) -> None:
    with db.write() as conn:
        row = conn.execute(
            select(consents.c.scope).where(
                consents.c.user_id == user_id, consents.c.client_id == client_id
            )
        ).first()
        if row is None:
            conn.execute(
                insert(consents).values(
                    user_id=user_id,
                    client_id=client_id,
                    scope=" ".join(sorted(scopes)),
                    granted_at=now(),
                )
            )
            return
        merged = set(row.scope.split()) | scopes
        conn.execute(
            update(consents)
            .where(consents.c.user_id == user_id, consents.c.client_id == client_id)
            .values(scope=" ".join(sorted(merged)), granted_at=now())
        )


def forget(db: Database, user_id: int, client_id: int) -> bool:
    """Withdraw the consent (the next authorization asks again)."""
    with db.write() as conn:
        return (
            conn.execute(
                delete(consents).where(
                    consents.c.user_id == user_id, consents.c.client_id == client_id
                )
            ).rowcount
            > 0
        )


def list_for_user(db: Database, user_id: int) -> list[tuple[str, str, str, str, int]]:
    """(client name, consumer key, client owner, scope, granted at) of each consent, newest
    first: what the user's account page lists."""
    from ..models import clients, users

    query = (
        select(
            clients.c.name,
            clients.c.consumer_key,
            users.c.username,
            consents.c.scope,
            consents.c.granted_at,
        )
        .select_from(
            consents.join(clients, clients.c.id == consents.c.client_id).join(
                users, users.c.id == clients.c.user_id
            )
        )
        .where(consents.c.user_id == user_id)
        .order_by(consents.c.granted_at.desc())
    )
    with db.read() as conn:
        return [tuple(row) for row in conn.execute(query)]


def client_id_of_key(db: Database, consumer_key: str) -> int | None:
    from ..models import clients

    with db.read() as conn:
        query = select(clients.c.id).where(clients.c.consumer_key == consumer_key)
        row = conn.execute(query).first()
    return row[0] if row else None
