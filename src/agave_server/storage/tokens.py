"""Access/refresh token pairs: issue, rotate, revoke, validate, purge.

Rotation is one conditional UPDATE (``rotated_at IS NULL AND revoked_at IS NULL AND not
expired``) whose row count decides the winner, in the same transaction as the insert of the new
pair: across any number of processes a refresh token is exchanged at most once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

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
from .records import BearerGrant, Token
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

# The token grants' statements, prepared once: they run on every /token request.
_INSERT = Prepared(
    insert(tokens).values(
        {
            c: bindparam(c)
            for c in (
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
        }
    )
)


def _live(digest_column, expiry_column) -> tuple:
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
    .where(*_live(tokens.c.refresh_digest, tokens.c.refresh_expires_at))
    .values(rotated_at=bindparam("now"))
)
_BY_REFRESH = Prepared(
    select(*_TOKEN_COLUMNS).where(
        tokens.c.refresh_digest == bindparam("digest"), tokens.c.tenant_id == bindparam("tenant_id")
    )
)


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


def _insert(db: Database, conn, pair: NewPair, issued: int) -> None:
    _INSERT.rowcount(
        db,
        conn,
        tenant_id=pair.tenant_id,
        client_id=pair.client_id,
        user_id=pair.user_id,
        grant_type=pair.grant_type,
        scope=pair.scope,
        access_digest=pair.access_digest,
        refresh_digest=pair.refresh_digest,
        issued_at=issued,
        access_expires_at=issued + pair.access_lifetime,
        refresh_expires_at=issued + pair.refresh_lifetime if pair.refresh_digest else None,
        family_id=pair.family_id,
        parent_id=pair.parent_id,
    )


def store_pair(pair: NewPair) -> Callable[[Database, Any], bool]:
    """The write that stores a new pair, or a refresh's rotation when it has a parent.

    Run it with ``run_write`` (its own transaction) or hand it to ``batch.WriteBatcher``.
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


def run_write(db: Database, write: Callable[[Database, Any], bool]) -> bool:
    """Run one ``store_pair`` write in a transaction of its own (worker threads, PostgreSQL)."""
    with db.driver(write=True) as conn:
        return write(db, conn)


def find_by_refresh(db: Database, tenant_id: int, refresh_digest: str) -> Token | None:
    """The pair a refresh token belongs to, live or not (prepared: every refresh grant)."""
    with db.driver() as conn:
        row = _BY_REFRESH.fetch_one(db, conn, digest=refresh_digest, tenant_id=tenant_id)
    return Token(**dict(zip(_TOKEN_FIELDS, row, strict=True))) if row else None


ACCESS = "access_token"
REFRESH = "refresh_token"


def find_by_digest(
    db: Database, tenant_id: int, token_digest: str, hint: str | None
) -> Token | None:
    """A pair by its access or refresh token digest (RFC 7009's token_type_hint is a hint)."""
    found = find_kind_by_digest(db, tenant_id, token_digest, hint)
    return found[0] if found else None


def find_kind_by_digest(
    db: Database, tenant_id: int, token_digest: str, hint: str | None
) -> tuple[Token, str] | None:
    """The pair and which of its tokens (ACCESS or REFRESH) has this digest, live or not."""
    columns = [(tokens.c.access_digest, ACCESS), (tokens.c.refresh_digest, REFRESH)]
    if hint == REFRESH:
        columns.reverse()
    with db.read() as conn:
        for column, kind in columns:
            row = conn.execute(
                select(*_TOKEN_COLUMNS).where(
                    column == token_digest, tokens.c.tenant_id == tenant_id
                )
            ).first()
            if row:
                return _token(row), kind
    return None


def parties(db: Database, client_id: int, user_id: int) -> tuple[str, str]:
    """The consumer key of a token's client and the username of its user (introspection)."""
    with db.read() as conn:
        key = conn.execute(select(clients.c.consumer_key).where(clients.c.id == client_id))
        name = conn.execute(select(users.c.username).where(users.c.id == user_id))
        return key.scalar_one(), name.scalar_one()


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


def _bearer_statement():
    api_subscribed = exists(
        select(1)
        .select_from(subscriptions.join(apis, apis.c.id == subscriptions.c.api_id))
        .where(subscriptions.c.client_id == tokens.c.client_id, apis.c.name == bindparam("api"))
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
        .where(*_live(tokens.c.access_digest, tokens.c.access_expires_at))
    )


_BEARER = Prepared(_bearer_statement())


def bearer_grant(
    db: Database, tenant_id: int, access_digest: str, api: str = "Profiles"
) -> BearerGrant | None:
    """The hot path of every protected call: one indexed query, user and the gate of ``api``
    (is the token's client subscribed to it?) joined."""
    with db.driver() as conn:
        row = _BEARER.fetch_one(
            db, conn, digest=access_digest, tenant_id=tenant_id, now=now(), api=api
        )
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
