"""Access/refresh token pairs: issue, rotate, revoke, validate, purge.

Rotation is one conditional UPDATE (``rotated_at IS NULL AND revoked_at IS NULL AND not
expired``) whose row count decides the winner, in the same transaction as the insert of the new
pair: across any number of processes a refresh token is exchanged at most once.
"""

from __future__ import annotations

from sqlalchemy import (
    Connection,
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

from ..models import apis, subscriptions, tokens, users
from .database import Database, Prepared, now
from .records import BearerGrant, Token, User

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
)


def _token(row) -> Token:
    return Token(**{c.name: row._mapping[c.name] for c in _TOKEN_COLUMNS})


def insert_pair(
    conn: Connection,
    *,
    tenant_id: int,
    client_id: int,
    user_id: int,
    grant_type: str,
    scope: str,
    access_digest: str,
    refresh_digest: str | None,
    access_lifetime: int,
    refresh_lifetime: int,
    family_id: str,
    parent_id: int | None,
) -> int:
    issued = now()
    return conn.execute(
        insert(tokens).values(
            tenant_id=tenant_id,
            client_id=client_id,
            user_id=user_id,
            grant_type=grant_type,
            scope=scope,
            access_digest=access_digest,
            refresh_digest=refresh_digest,
            issued_at=issued,
            access_expires_at=issued + access_lifetime,
            refresh_expires_at=issued + refresh_lifetime if refresh_digest else None,
            family_id=family_id,
            parent_id=parent_id,
        )
    ).inserted_primary_key[0]


def claim_refresh(conn: Connection, tenant_id: int, refresh_digest: str) -> Token | None:
    """Mark a live refresh token as used; returns it only to the one caller that won."""
    t = now()
    result = conn.execute(
        update(tokens)
        .where(
            tokens.c.refresh_digest == refresh_digest,
            tokens.c.tenant_id == tenant_id,
            tokens.c.rotated_at.is_(None),
            tokens.c.revoked_at.is_(None),
            tokens.c.refresh_expires_at > t,
        )
        .values(rotated_at=t)
    )
    if result.rowcount != 1:
        return None
    row = conn.execute(
        select(*_TOKEN_COLUMNS).where(tokens.c.refresh_digest == refresh_digest)
    ).first()
    return _token(row) if row else None


def find_by_refresh(db: Database, tenant_id: int, refresh_digest: str) -> Token | None:
    with db.read() as conn:
        row = conn.execute(
            select(*_TOKEN_COLUMNS).where(
                tokens.c.refresh_digest == refresh_digest, tokens.c.tenant_id == tenant_id
            )
        ).first()
    return _token(row) if row else None


def find_by_digest(
    db: Database, tenant_id: int, token_digest: str, hint: str | None
) -> Token | None:
    """A pair by its access or refresh token digest (RFC 7009's token_type_hint is a hint)."""
    columns = [tokens.c.access_digest, tokens.c.refresh_digest]
    if hint == "refresh_token":
        columns.reverse()
    with db.read() as conn:
        for column in columns:
            row = conn.execute(
                select(*_TOKEN_COLUMNS).where(
                    column == token_digest, tokens.c.tenant_id == tenant_id
                )
            ).first()
            if row:
                return _token(row)
    return None


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
    profiles_subscribed = exists(
        select(1)
        .select_from(subscriptions.join(apis, apis.c.id == subscriptions.c.api_id))
        .where(subscriptions.c.client_id == tokens.c.client_id, apis.c.name == "Profiles")
    ).label("subscribed")
    return (
        select(*users.c, tokens.c.client_id, profiles_subscribed)
        .select_from(tokens.join(users, users.c.id == tokens.c.user_id))
        .where(
            tokens.c.access_digest == bindparam("digest"),
            tokens.c.tenant_id == bindparam("tenant_id"),
            tokens.c.revoked_at.is_(None),
            tokens.c.rotated_at.is_(None),
            tokens.c.access_expires_at > bindparam("now"),
        )
    )


_BEARER = Prepared(_bearer_statement())
_USER_FIELDS = tuple(c.name for c in users.c)


def bearer_grant(db: Database, tenant_id: int, access_digest: str) -> BearerGrant | None:
    """The hot path of every protected call: one indexed query, user and Profiles gate joined."""
    with db.read() as conn:
        row = _BEARER.first(conn, digest=access_digest, tenant_id=tenant_id, now=now())
    if row is None:
        return None
    n = len(_USER_FIELDS)
    values = dict(zip(_USER_FIELDS, row[:n], strict=True))
    values["is_admin"] = bool(values["is_admin"])
    return BearerGrant(user=User(**values), client_id=row[n], subscribed=bool(row[n + 1]))


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
