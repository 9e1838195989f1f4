"""The gateway decision's one read: the token's user, its client, the client's owner and the
client's subscription to one API.

Only the columns the decision uses are read: each column a row carries costs SQLite and the
driver about half a microsecond, a user's password hash more. The answers are named tuples,
built in a third of a frozen dataclass's time (bench/NOTES.md item 34)."""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import and_, bindparam, select

from ..models import clients, subscriptions, tokens, users
from .database import Database, Prepared, now
from .lookups import BatchedStatement, LookupBatcher
from .tokens import live_pair


class Identity(NamedTuple):
    """The token's user as the gateway's assertion names them (WSO2's claims)."""

    username: str
    is_admin: bool
    email: str
    first_name: str
    last_name: str


class ClientAccess(NamedTuple):
    """What the gateway needs to know about the token's client for one API."""

    client_id: int
    name: str
    consumer_key: str
    tier: str
    owner: str  # the subscriber: the client's owner's username
    subscription_tier: str | None  # None = not subscribed to the API


class TokenAccess(NamedTuple):
    """A live access token's user, and its client as the gateway sees it for one API."""

    user: Identity
    client: ClientAccess


_owners = users.alias("owners")
_ACCESS = Prepared(
    select(
        users.c.username,
        users.c.is_admin,
        users.c.email,
        users.c.first_name,
        users.c.last_name,
        clients.c.id,
        clients.c.name,
        clients.c.consumer_key,
        clients.c.tier,
        _owners.c.username,
        subscriptions.c.tier,
    )
    .select_from(
        tokens.join(users, users.c.id == tokens.c.user_id)
        .join(clients, clients.c.id == tokens.c.client_id)
        .join(_owners, _owners.c.id == clients.c.user_id)
        .outerjoin(
            subscriptions,
            and_(
                subscriptions.c.client_id == clients.c.id,
                subscriptions.c.api_id == bindparam("api_id"),
            ),
        )
    )
    .where(*live_pair(tokens.c.access_digest, tokens.c.access_expires_at))
)
_ACCESS_BATCHED = BatchedStatement(
    _ACCESS, {"digest": "text", "tenant_id": "integer", "api_id": "integer"}, {"now": now}
)
_N_USER = 5  # Identity's fields


def token_access(
    db: Database, tenant_id: int, access_digest: str, api_id: int
) -> TokenAccess | None:
    """The live access token with this digest (None when unknown, expired, revoked, rotated,
    or its client is gone), its user, client, owner and subscription to the API: one query."""
    with db.driver() as conn:
        row = _ACCESS.fetch_one(
            db, conn, digest=access_digest, tenant_id=tenant_id, now=now(), api_id=api_id
        )
    return _token_access(row)


async def token_access_batched(
    lookups: LookupBatcher, tenant_id: int, access_digest: str, api_id: int
) -> TokenAccess | None:
    """``token_access`` for a coroutine on the event loop (PostgreSQL): the same statement,
    in the loop's next batched query (``storage.lookups``)."""
    row = await lookups.fetch_one(
        _ACCESS_BATCHED, digest=access_digest, tenant_id=tenant_id, api_id=api_id
    )
    return _token_access(row)


def _token_access(row: tuple | None) -> TokenAccess | None:
    if row is None:
        return None
    username, is_admin, email, first_name, last_name = row[:_N_USER]
    return TokenAccess(
        Identity(username, bool(is_admin), email, first_name, last_name),
        ClientAccess(*row[_N_USER:]),
    )
