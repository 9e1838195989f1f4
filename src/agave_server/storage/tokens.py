"""Access/refresh token pairs: issue, rotate, revoke, validate, purge.

Rotation is one conditional UPDATE (``rotated_at IS NULL AND revoked_at IS NULL AND not
expired``) whose row count decides the winner, in the same transaction as the insert of the new
pair (on PostgreSQL, in the same statement): across any number of processes a refresh token is
exchanged at most once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple

from sqlalchemy import (
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)

from ..models import apis, clients, subscriptions, tokens, users
from .database import Database, Prepared, now
from .lookups import BatchedStatement, LookupBatcher
from .records import BearerGrant, SessionFamily, Token
from .users import USER_FIELDS, user_from_values

_TOKEN_COLUMNS = (
    tokens.c.id,
    tokens.c.tenant_id,
    tokens.c.client_id,
    tokens.c.user_id,
    tokens.c.grant_type,
    tokens.c.scope,
    tokens.c.family_id,
    tokens.c.rotated_at,
    tokens.c.revoked_at,
    tokens.c.access_expires_at,
    tokens.c.refresh_expires_at,
    tokens.c.issued_at,
)


def _token(row) -> Token:
    return Token(**{c.name: row._mapping[c.name] for c in _TOKEN_COLUMNS})


_TOKEN_FIELDS = tuple(c.name for c in _TOKEN_COLUMNS)
if Token._fields != _TOKEN_FIELDS:  # rows are positional
    raise ImportError("records.Token must list _TOKEN_COLUMNS in the same order")

# The token grants' statements, prepared once: they run on every /token request.
NEW_PAIR_COLUMNS = (
    "tenant_id",
    "client_id",
    "user_id",
    "grant_type",
    "scope",
    "access_digest",
    "refresh_digest",
    "issued_at",
    "access_expires_at",
    "refresh_expires_at",
    "family_id",
    "parent_id",
)
_INSERT = Prepared(insert(tokens).values({c: bindparam(c) for c in NEW_PAIR_COLUMNS}))


def live_pair(digest_column, expiry_column) -> tuple:
    """A pair whose token (by digest) still works: this tenant's, unretired, unexpired."""
    return (
        digest_column == bindparam("digest"),
        tokens.c.tenant_id == bindparam("tenant_id"),
        tokens.c.revoked_at.is_(None),
        tokens.c.rotated_at.is_(None),
        expiry_column > bindparam("now"),
    )


_CLAIM = Prepared(
    update(tokens)
    .where(*live_pair(tokens.c.refresh_digest, tokens.c.refresh_expires_at))
    .values(rotated_at=bindparam("now"))
)
# PostgreSQL: the claim and the insert of the new pair as one statement (its UPDATE's row
# lock and READ COMMITTED's re-check decide the winner, exactly as ``_CLAIM`` does), so that
# a rotation is one round trip in autocommit mode instead of BEGIN, SAVEPOINT, UPDATE,
# INSERT, RELEASE and COMMIT (bench/NOTES.md item 36). SQLite has no UPDATE in a WITH.
_CLAIMED = (
    update(tokens)
    .where(*live_pair(tokens.c.refresh_digest, tokens.c.refresh_expires_at))
    .values(rotated_at=bindparam("now"))
    .returning(tokens.c.id)
    .cte("claimed")
)
_ROTATE = Prepared(
    insert(tokens).from_select(
        list(NEW_PAIR_COLUMNS),
        select(*(bindparam(c, type_=tokens.c[c].type) for c in NEW_PAIR_COLUMNS)).select_from(
            _CLAIMED
        ),
    )
)
_BY_REFRESH = Prepared(
    select(*_TOKEN_COLUMNS).where(
        tokens.c.refresh_digest == bindparam("digest"), tokens.c.tenant_id == bindparam("tenant_id")
    )
)
BY_REFRESH_AHEAD = BatchedStatement(_BY_REFRESH, {"digest": "text", "tenant_id": "integer"})


@dataclass(frozen=True)
class NewPair:
    """A pair about to be stored: digests only, with what it was issued for."""

    tenant_id: int
    client_id: int
    user_id: int
    grant_type: str
    scope: str
    access_digest: str
    refresh_digest: str | None
    access_lifetime: int
    refresh_lifetime: int
    family_id: str
    parent_id: int | None = None
    parent_digest: str | None = None  # the refresh token this pair replaces


def new_pair_values(pair: NewPair, issued: int) -> dict[str, Any]:
    """The new row's columns (``NEW_PAIR_COLUMNS``), by name."""
    return {
        "tenant_id": pair.tenant_id,
        "client_id": pair.client_id,
        "user_id": pair.user_id,
        "grant_type": pair.grant_type,
        "scope": pair.scope,
        "access_digest": pair.access_digest,
        "refresh_digest": pair.refresh_digest,
        "issued_at": issued,
        "access_expires_at": issued + pair.access_lifetime,
        "refresh_expires_at": issued + pair.refresh_lifetime if pair.refresh_digest else None,
        "family_id": pair.family_id,
        "parent_id": pair.parent_id,
    }


def _insert(db: Database, conn, pair: NewPair, issued: int) -> None:
    _INSERT.rowcount(db, conn, **new_pair_values(pair, issued))


def store_pair(pair: NewPair) -> Callable[[Database, Any], bool]:
    """The write that stores a new pair, or a refresh's rotation when it has a parent.

    Hand it to ``batch.WriteBatcher``, or store the pair with ``save_pair`` instead.
    For a rotation it returns False, storing nothing, when the refresh token is no longer live
    (another request exchanged it first, or it was revoked or expired meanwhile): the claim
    is one conditional UPDATE, so across any number of processes exactly one caller wins.
    """

    def write(db: Database, conn: Any) -> bool:
        t = now()
        if pair.parent_digest is None:
            _insert(db, conn, pair, t)  # one statement: atomic by itself
            return True
        cursor = conn.cursor()
        cursor.execute("SAVEPOINT rotate")  # the claim must not outlive a failed insert
        try:
            claimed = _CLAIM.rowcount(
                db, conn, digest=pair.parent_digest, tenant_id=pair.tenant_id, now=t
            )
            if claimed == 1:
                _insert(db, conn, pair, t)
        except BaseException:
            cursor.execute("ROLLBACK TO SAVEPOINT rotate")
            cursor.execute("RELEASE SAVEPOINT rotate")
            raise
        cursor.execute("RELEASE SAVEPOINT rotate")
        return claimed == 1

    return write


def save_pair(db: Database, pair: NewPair) -> bool:
    """``store_pair``'s write in a transaction of its own (worker threads; PostgreSQL always).

    On PostgreSQL the write is one statement in autocommit mode (an insert, or ``_ROTATE``'s
    claim and insert), atomic by itself: one round trip where a transaction takes three to
    six. Returns what ``store_pair``'s write returns.
    """
    if db.is_sqlite:
        with db.driver(write=True) as conn:
            return store_pair(pair)(db, conn)
    t = now()
    values = new_pair_values(pair, t)
    with db.one_statement_write() as conn:
        if pair.parent_digest is None:
            _INSERT.rowcount(db, conn, **values)
            return True
        claimed = _ROTATE.rowcount(db, conn, digest=pair.parent_digest, now=t, **values)
    return claimed == 1


def find_by_refresh(db: Database, tenant_id: int, refresh_digest: str) -> Token | None:
    """The pair a refresh token belongs to, live or not (prepared: every refresh grant)."""
    with db.driver() as conn:
        row = _BY_REFRESH.fetch_one(db, conn, digest=refresh_digest, tenant_id=tenant_id)
    return Token(*row) if row else None


ACCESS = "access_token"
REFRESH = "refresh_token"


class FoundPair(NamedTuple):
    """A stored pair found by one of its tokens, with the consumer key of its client and the
    username of its user (what introspection answers)."""

    token: Token
    kind: str  # ACCESS or REFRESH: which of the pair's two tokens has the digest
    consumer_key: str
    username: str


def _pair_by(digest_column) -> Prepared:
    """The pair (live or not) whose token in ``digest_column`` has the digest, joined with its
    client's key and its user's name: one indexed read for revocation and introspection."""
    return Prepared(
        select(*_TOKEN_COLUMNS, clients.c.consumer_key, users.c.username)
        .select_from(
            tokens.join(clients, clients.c.id == tokens.c.client_id).join(
                users, users.c.id == tokens.c.user_id
            )
        )
        .where(digest_column == bindparam("digest"), tokens.c.tenant_id == bindparam("tenant_id"))
    )


_PAIR_BY = {ACCESS: _pair_by(tokens.c.access_digest), REFRESH: _pair_by(tokens.c.refresh_digest)}
PAIR_BY_ACCESS_AHEAD = BatchedStatement(
    _PAIR_BY[ACCESS], {"digest": "text", "tenant_id": "integer"}
)
_N_TOKEN = len(_TOKEN_FIELDS)
PAIR_COLUMNS = _TOKEN_COLUMNS  # what ``pair_from`` reads, then consumer key and username


def pair_from(values: tuple, kind: str) -> FoundPair:
    """A ``FoundPair`` from the pair's columns (``PAIR_COLUMNS``), its client's consumer key
    and its user's name, in that order."""
    return FoundPair(Token(*values[:_N_TOKEN]), kind, values[_N_TOKEN], values[_N_TOKEN + 1])


def find_pair(
    db: Database,
    tenant_id: int,
    token_digest: str,
    hint: str | None,
    kinds: tuple[str, ...] | None = None,
) -> FoundPair | None:
    """The pair one of whose tokens has this digest, live or not (RFC 7009's and RFC 7662's
    ``token_type_hint`` only says which column to try first). ``kinds``: the columns to try,
    when the caller has tried the others already."""
    if kinds is None:
        kinds = (REFRESH, ACCESS) if hint == REFRESH else (ACCESS, REFRESH)
    with db.driver() as conn:
        for kind in kinds:
            row = _PAIR_BY[kind].fetch_one(db, conn, digest=token_digest, tenant_id=tenant_id)
            if row is not None:
                return pair_from(row, kind)
    return None


def find_by_digest(
    db: Database, tenant_id: int, token_digest: str, hint: str | None
) -> Token | None:
    """A pair by its access or refresh token digest (RFC 7009's token_type_hint is a hint)."""
    found = find_pair(db, tenant_id, token_digest, hint)
    return found.token if found else None


def revoke_pair(db: Database, token_id: int) -> None:
    with db.write() as conn:
        conn.execute(
            update(tokens)
            .where(tokens.c.id == token_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now())
        )


def revoke_family(db: Database, family_id: str) -> int:
    """Revoke every pair of a refresh chain; returns how many were still unrevoked."""
    with db.write() as conn:
        return conn.execute(
            update(tokens)
            .where(tokens.c.family_id == family_id, tokens.c.revoked_at.is_(None))
            .values(revoked_at=now())
        ).rowcount


def client_sessions(db: Database, client_id: int) -> list[SessionFamily]:
    """The client's live sessions: refresh-token families with a pair that still works.

    A family is one sign-in (password grant, code flow, device login) and every refresh since;
    its first pair's issue time is when it began, its newest pair's when it was last used.
    """
    t = now()
    live = select(tokens.c.family_id).where(
        tokens.c.client_id == client_id,
        tokens.c.revoked_at.is_(None),
        tokens.c.rotated_at.is_(None),
        or_(tokens.c.refresh_expires_at > t, tokens.c.access_expires_at > t),
    )
    query = (
        select(
            tokens.c.family_id,
            func.min(tokens.c.issued_at).label("created_at"),
            func.max(tokens.c.issued_at).label("last_used_at"),
            func.max(tokens.c.scope).label("scope"),
            func.max(tokens.c.grant_type).label("grant_type"),
            func.max(tokens.c.user_id).label("user_id"),
        )
        .where(tokens.c.client_id == client_id, tokens.c.family_id.in_(live))
        .group_by(tokens.c.family_id)
        .order_by(func.max(tokens.c.issued_at).desc())
    )
    with db.read() as conn:
        return [SessionFamily(**dict(row._mapping)) for row in conn.execute(query)]


def revoke_client_family(db: Database, client_id: int, family_id: str) -> int:
    """Revoke one family of this client (a family id of another client revokes nothing)."""
    with db.write() as conn:
        return conn.execute(
            update(tokens)
            .where(
                tokens.c.client_id == client_id,
                tokens.c.family_id == family_id,
                tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=now())
        ).rowcount


def _bearer_statement():
    # The API by (tenant, name) first, then the one subscription row by its key: one probe
    # each (uq_apis_identity, the subscriptions' primary key), however many APIs the client
    # is subscribed to (a new client has a dozen), instead of a walk over all of them.
    api_subscribed = exists(
        select(1)
        .select_from(subscriptions.join(apis, apis.c.id == subscriptions.c.api_id))
        .where(
            subscriptions.c.client_id == tokens.c.client_id,
            apis.c.tenant_id == tokens.c.tenant_id,
            apis.c.name == bindparam("api"),
        )
    ).label("subscribed")
    return (
        select(
            *users.c,
            tokens.c.client_id,
            api_subscribed,
            tokens.c.scope,
            tokens.c.access_expires_at,
        )
        .select_from(tokens.join(users, users.c.id == tokens.c.user_id))
        .where(*live_pair(tokens.c.access_digest, tokens.c.access_expires_at))
    )


_BEARER = Prepared(_bearer_statement())
BEARER_BATCHED = BatchedStatement(
    _BEARER, {"digest": "text", "tenant_id": "integer", "api": "text"}, {"now": now}
)


def bearer_grant(
    db: Database, tenant_id: int, access_digest: str, api: str = "Profiles"
) -> BearerGrant | None:
    """The hot path of every protected call: one indexed query, user and the gate of ``api``
    (is the token's client subscribed to it?) joined."""
    with db.driver() as conn:
        row = _BEARER.fetch_one(
            db, conn, digest=access_digest, tenant_id=tenant_id, now=now(), api=api
        )
    return _bearer_grant(row)


async def bearer_grant_batched(
    lookups: LookupBatcher, tenant_id: int, access_digest: str, api: str = "Profiles"
) -> BearerGrant | None:
    """``bearer_grant`` for a coroutine on the event loop (PostgreSQL): the same statement,
    in the loop's next batched query (``storage.lookups``)."""
    row = await lookups.fetch_one(
        BEARER_BATCHED, digest=access_digest, tenant_id=tenant_id, api=api
    )
    return _bearer_grant(row)


def _bearer_grant(row: tuple | None) -> BearerGrant | None:
    if row is None:
        return None
    n = len(USER_FIELDS)
    return BearerGrant(
        user=user_from_values(row[:n]),
        client_id=row[n],
        subscribed=bool(row[n + 1]),
        scope=row[n + 2],
        expires_at=row[n + 3],
    )


def purge(db: Database) -> dict[str, int]:
    """Delete pairs that can never work again: revoked, or past every expiry."""
    t = now()
    dead = or_(
        tokens.c.revoked_at.is_not(None),
        and_(
            tokens.c.access_expires_at <= t,
            # Rotated pairs stay until their refresh expiry: replaying one must still be
            # recognised as reuse and revoke the family.
            or_(tokens.c.refresh_expires_at.is_(None), tokens.c.refresh_expires_at <= t),
        ),
    )
    with db.write() as conn:
        revoked = conn.execute(
            select(func.count()).select_from(tokens).where(tokens.c.revoked_at.is_not(None))
        ).scalar_one()
        removed = conn.execute(delete(tokens).where(dead)).rowcount
        remaining = conn.execute(select(func.count()).select_from(tokens)).scalar_one()
    return {"removed": removed, "revoked_removed": revoked, "remaining": remaining}
