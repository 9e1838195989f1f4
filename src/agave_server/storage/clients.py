"""OAuth clients and their API subscriptions.

Writes that touch one client lock its row first (``FOR UPDATE`` on PostgreSQL; SQLite's
BEGIN IMMEDIATE already serialises writers), so concurrent subscribe/unsubscribe/delete on
one client apply in some serial order and never half-way.
"""

from __future__ import annotations

from sqlalchemy import Connection, bindparam, delete, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError

from ..models import apis, clients, login_failures, subscriptions, tokens, users
from .apis import _api
from .database import Database, Prepared, now
from .lookups import BatchedStatement
from .records import Api, Client, Subscription, User
from .users import USER_FIELDS, user_from_values


class DuplicateClient(Exception):
    """The user already has a client with this name."""


class ClientGone(Exception):
    """The client was deleted while the request was being handled."""


def _client(row) -> Client:
    return Client(**dict(row._mapping))


def create_client(
    db: Database,
    tenant_id: int,
    user_id: int,
    name: str,
    description: str,
    consumer_key: str,
    secret_digest: str,
    tier: str,
    callback_url: str,
) -> Client:
    """Insert the client and subscribe it to every default API of the tenant, atomically."""
    values = {
        "tenant_id": tenant_id,
        "user_id": user_id,
        "name": name,
        "description": description,
        "consumer_key": consumer_key,
        "secret_digest": secret_digest,
        "tier": tier,
        "callback_url": callback_url,
        "created_at": now(),
        "is_resource_server": False,
        "post_logout_redirect_uri": "",
    }
    try:
        with db.write() as conn:
            if conn.execute(
                select(clients.c.id).where(clients.c.user_id == user_id, clients.c.name == name)
            ).first():
                raise DuplicateClient(name)
            new_id = conn.execute(insert(clients).values(**values)).inserted_primary_key[0]
            default_ids = select(apis.c.id).where(
                apis.c.tenant_id == tenant_id, apis.c.is_default.is_(True)
            )
            api_ids = [r.id for r in conn.execute(default_ids)]
            if api_ids:
                conn.execute(
                    insert(subscriptions),
                    [
                        {"client_id": new_id, "api_id": a, "tier": tier, "created_at": now()}
                        for a in api_ids
                    ],
                )
    except IntegrityError:
        # Two requests raced past the SELECT above; the unique constraint decided.
        raise DuplicateClient(name) from None
    return Client(id=new_id, **values)


def list_clients(
    db: Database, user_id: int, limit: int | None = None, offset: int = 0
) -> list[Client]:
    """A user's clients in creation order, one page of them when ``limit`` is given."""
    query = select(clients).where(clients.c.user_id == user_id).order_by(clients.c.id)
    if limit is not None:
        query = query.limit(limit).offset(offset)
    with db.read() as conn:
        rows = conn.execute(query)
        return [_client(r) for r in rows]


def get_client(db: Database, user_id: int, name: str) -> Client | None:
    with db.read() as conn:
        row = conn.execute(
            select(clients).where(clients.c.user_id == user_id, clients.c.name == name)
        ).first()
    return _client(row) if row else None


_CLIENT_FIELDS = tuple(c.name for c in clients.c)
if Client._fields != _CLIENT_FIELDS:
    raise ImportError("records.Client must list the clients table's columns in table order")
_WITH_OWNER = Prepared(
    select(clients, users)
    .join(users, users.c.id == clients.c.user_id)
    .where(
        clients.c.consumer_key == bindparam("key"), clients.c.tenant_id == bindparam("tenant_id")
    )
)


WITH_OWNER_AHEAD = BatchedStatement(_WITH_OWNER, {"key": "text", "tenant_id": "integer"})


def get_client_with_owner(
    db: Database, tenant_id: int, consumer_key: str
) -> tuple[Client, User] | None:
    """A client by consumer key, with its owner: every token request's client check (one
    prepared statement; the client_credentials grant needs the owner too)."""
    with db.driver() as conn:
        row = _WITH_OWNER.fetch_one(db, conn, key=consumer_key, tenant_id=tenant_id)
    if row is None:
        return None
    n = len(_CLIENT_FIELDS)
    return Client(*row[:n]), user_from_values(row[n:])


_FAILURES_1 = login_failures.alias("failures_1")
_FAILURES_2 = login_failures.alias("failures_2")
# The client, its owner and the failed-login counters of the two keys that guard its
# authentication; ``storage.introspection`` extends it with the token being introspected.
FOR_AUTH = (
    select(
        clients,
        users,
        _FAILURES_1.c.key,
        _FAILURES_1.c.window_start,
        _FAILURES_1.c.failures,
        _FAILURES_2.c.key,
        _FAILURES_2.c.window_start,
        _FAILURES_2.c.failures,
    )
    .select_from(
        clients.join(users, users.c.id == clients.c.user_id)
        .outerjoin(_FAILURES_1, _FAILURES_1.c.key == bindparam("first"))
        .outerjoin(_FAILURES_2, _FAILURES_2.c.key == bindparam("second"))
    )
    .where(
        clients.c.consumer_key == bindparam("key"), clients.c.tenant_id == bindparam("tenant_id")
    )
)
_FOR_AUTH = Prepared(FOR_AUTH)
# The same look-ups, read ahead from the event loop on PostgreSQL (``storage.lookups``).
FOR_AUTH_AHEAD = BatchedStatement(
    _FOR_AUTH, {"key": "text", "tenant_id": "integer", "first": "text", "second": "text"}
)
FOR_AUTH_WIDTH = len(_CLIENT_FIELDS) + len(USER_FIELDS) + 6

ClientForAuth = tuple[Client, User, list[tuple[str, int, int]]]


def client_for_auth_from(row: tuple) -> ClientForAuth:
    """``get_client_for_auth``'s answer from the first ``FOR_AUTH_WIDTH`` values of a row."""
    n, m = len(_CLIENT_FIELDS), len(_CLIENT_FIELDS) + len(USER_FIELDS)
    counters = [row[i : i + 3] for i in (m, m + 3) if row[i] is not None]
    return Client(*row[:n]), user_from_values(row[n:m]), counters


def get_client_for_auth(
    db: Database, tenant_id: int, consumer_key: str, failure_keys: tuple[str, str | None]
) -> ClientForAuth | None:
    """``get_client_with_owner`` and the failed-login counter rows (``storage.throttle``) of
    the two keys that guard its authentication, in one statement: every client-authenticated
    request (token grants, introspection, revocation) needs all three. None for an unknown
    key (the caller then reads the counters alone)."""
    first, second = failure_keys
    with db.driver() as conn:
        row = _FOR_AUTH.fetch_one(
            db, conn, key=consumer_key, tenant_id=tenant_id, first=first, second=second
        )
    return client_for_auth_from(row) if row is not None else None


def find_in_tenant(db: Database, tenant_id: int, name: str) -> list[tuple[Client, User]]:
    """Every client of this name in the tenant (one per owner at most), with its owner."""
    with db.read() as conn:
        rows = conn.execute(
            select(clients, users)
            .join(users, users.c.id == clients.c.user_id)
            .where(clients.c.tenant_id == tenant_id, clients.c.name == name)
            .order_by(clients.c.id)
        ).all()
    n = len(_CLIENT_FIELDS)
    return [
        (Client(**dict(zip(_CLIENT_FIELDS, row[:n], strict=True))), user_from_values(row[n:]))
        for row in rows
    ]


def _lock_client(conn: Connection, client_id: int) -> bool:
    row = conn.execute(
        select(clients.c.id).where(clients.c.id == client_id).with_for_update()
    ).first()
    return row is not None


def delete_client(db: Database, client_id: int) -> bool:
    """Delete the client with its subscriptions and tokens (they stop working at once)."""
    with db.write() as conn:
        if not _lock_client(conn, client_id):
            return False
        conn.execute(delete(tokens).where(tokens.c.client_id == client_id))
        conn.execute(delete(subscriptions).where(subscriptions.c.client_id == client_id))
        conn.execute(delete(clients).where(clients.c.id == client_id))
    return True


def update_client(db: Database, client_id: int, changes: dict[str, object]) -> Client | None:
    """Set the given columns of one client; returns it as stored now (None if it is gone)."""
    with db.write() as conn:
        if not _lock_client(conn, client_id):
            return None
        if changes:
            conn.execute(update(clients).where(clients.c.id == client_id).values(**changes))
        row = conn.execute(select(clients).where(clients.c.id == client_id)).first()
    return _client(row)


def replace_secret(db: Database, client_id: int, secret_digest: str) -> int | None:
    """Give the client a new secret and revoke every token it holds, in one transaction.

    Nobody can use the old secret, or a token issued with it, once this commits; returns how
    many unrevoked token pairs were revoked (None when the client is gone).
    """
    with db.write() as conn:
        if not _lock_client(conn, client_id):
            return None
        conn.execute(
            update(clients).where(clients.c.id == client_id).values(secret_digest=secret_digest)
        )
        return conn.execute(
            update(tokens)
            .where(tokens.c.client_id == client_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now())
        ).rowcount


def list_subscriptions(db: Database, client_id: int) -> list[Subscription]:
    query = (
        select(apis, subscriptions.c.tier.label("sub_tier"))
        .join(subscriptions, subscriptions.c.api_id == apis.c.id)
        .where(subscriptions.c.client_id == client_id)
        .order_by(apis.c.id)
    )
    with db.read() as conn:
        return [Subscription(api=_api(r), tier=r.sub_tier) for r in conn.execute(query)]


def _insert_ignoring_duplicates(conn: Connection, rows: list[dict]) -> None:
    dialect = conn.dialect.name
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(subscriptions)
    conn.execute(stmt.on_conflict_do_nothing(), rows)


def subscribe(db: Database, client_id: int, api_list: list[Api], tier: str) -> list[Subscription]:
    """Subscribe to each API (already subscribed ones are kept as they are)."""
    with db.write() as conn:
        if not _lock_client(conn, client_id):
            raise ClientGone()
        if api_list:
            _insert_ignoring_duplicates(
                conn,
                [
                    {"client_id": client_id, "api_id": a.id, "tier": tier, "created_at": now()}
                    for a in api_list
                ],
            )
    return [Subscription(api=a, tier=tier) for a in api_list]


def unsubscribe(db: Database, client_id: int, api_list: list[Api]) -> list[Subscription]:
    """Remove the subscriptions to these APIs; returns those that existed."""
    ids = [a.id for a in api_list]
    with db.write() as conn:
        if not _lock_client(conn, client_id):
            raise ClientGone()
        existing = conn.execute(
            select(subscriptions.c.api_id, subscriptions.c.tier).where(
                subscriptions.c.client_id == client_id, subscriptions.c.api_id.in_(ids)
            )
        ).all()
        conn.execute(
            delete(subscriptions).where(
                subscriptions.c.client_id == client_id, subscriptions.c.api_id.in_(ids)
            )
        )
    tiers = {r.api_id: r.tier for r in existing}
    return [Subscription(api=a, tier=tiers[a.id]) for a in api_list if a.id in tiers]
