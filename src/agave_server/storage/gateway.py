"""The gateway decision's one read: a client, its owner, and its subscription to one API."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import and_, bindparam, select

from ..models import clients, subscriptions, users
from .database import Database, Prepared


@dataclass(frozen=True)
class ClientAccess:
    """What the gateway needs to know about the token's client for one API."""

    client_id: int
    name: str
    consumer_key: str
    tier: str
    owner: str  # the subscriber: the client's owner's username
    subscription_tier: str | None  # None = not subscribed to the API


_ACCESS = Prepared(
    select(
        clients.c.id,
        clients.c.name,
        clients.c.consumer_key,
        clients.c.tier,
        users.c.username,
        subscriptions.c.tier,
    )
    .select_from(
        clients.join(users, users.c.id == clients.c.user_id).outerjoin(
            subscriptions,
            and_(
                subscriptions.c.client_id == clients.c.id,
                subscriptions.c.api_id == bindparam("api_id"),
            ),
        )
    )
    .where(clients.c.id == bindparam("client_id"), clients.c.tenant_id == bindparam("tenant_id"))
)


def client_access(db: Database, tenant_id: int, client_id: int, api_id: int) -> ClientAccess | None:
    """The client (None if it is gone) and its subscription tier for the API (one query)."""
    with db.driver() as conn:
        row = _ACCESS.fetch_one(db, conn, client_id=client_id, tenant_id=tenant_id, api_id=api_id)
    return ClientAccess(*row) if row else None
