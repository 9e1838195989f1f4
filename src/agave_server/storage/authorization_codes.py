"""Authorization codes (RFC 6749 section 4.1): digests only, single use, short-lived.

The exchange claims a code with one conditional UPDATE (``used_at IS NULL``, unexpired), so
of any number of concurrent exchanges exactly one wins; the loser learns that the code was
already used and which token family the winner received, so that family can be revoked.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update

from ..models import authorization_codes
from .database import Database, now


@dataclass(frozen=True)
class AuthorizationCode:
    id: int
    tenant_id: int
    client_id: int
    user_id: int
    redirect_uri: str
    scope: str
    nonce: str
    code_challenge: str
    code_challenge_method: str
    auth_time: int
    expires_at: int
    used_at: int | None
    family_id: str | None


_FIELDS = tuple(f for f in AuthorizationCode.__dataclass_fields__)


def store(
    db: Database,
    *,
    tenant_id: int,
    client_id: int,
    user_id: int,
    code_digest: str,
    redirect_uri: str,
    scope: str,
    nonce: str,
    code_challenge: str,
    code_challenge_method: str,
    auth_time: int,
    lifetime: int,
) -> None:
    with db.write() as conn:
        conn.execute(
            insert(authorization_codes).values(
                tenant_id=tenant_id,
                client_id=client_id,
                user_id=user_id,
                code_digest=code_digest,
                redirect_uri=redirect_uri,
                scope=scope,
                nonce=nonce,
                code_challenge=code_challenge,
                code_challenge_method=code_challenge_method,
                auth_time=auth_time,
                expires_at=now() + lifetime,
            )
        )


def find(db: Database, tenant_id: int, code_digest: str) -> AuthorizationCode | None:
    """The code with this digest in this tenant, used or not, expired or not."""
    columns = [authorization_codes.c[name] for name in _FIELDS]
    with db.read() as conn:
        row = conn.execute(
            select(*columns).where(
                authorization_codes.c.code_digest == code_digest,
                authorization_codes.c.tenant_id == tenant_id,
            )
        ).first()
    return AuthorizationCode(**dict(zip(_FIELDS, row, strict=True))) if row else None


def claim(db: Database, code_id: int, family_id: str) -> bool:
    """Mark the code used by the exchange issuing ``family_id``; False if it lost the race."""
    t = now()
    with db.write() as conn:
        return (
            conn.execute(
                update(authorization_codes)
                .where(
                    authorization_codes.c.id == code_id,
                    authorization_codes.c.used_at.is_(None),
                    authorization_codes.c.expires_at > t,
                )
                .values(used_at=t, family_id=family_id)
            ).rowcount
            == 1
        )


def used_family(db: Database, code_id: int) -> str | None:
    """The token family the winning exchange of this code received (after a lost claim)."""
    with db.read() as conn:
        row = conn.execute(
            select(authorization_codes.c.family_id).where(authorization_codes.c.id == code_id)
        ).first()
    return row.family_id if row else None


def nonce_seen(db: Database, client_id: int, nonce: str) -> bool:
    """Whether a live code of this client already carries this nonce (OIDC replay check)."""
    with db.read() as conn:
        return (
            conn.execute(
                select(authorization_codes.c.id).where(
                    authorization_codes.c.client_id == client_id,
                    authorization_codes.c.nonce == nonce,
                    authorization_codes.c.expires_at > now(),
                )
            ).first()
            is not None
        )


def purge(db: Database, keep_used_for: int = 3600) -> int:
    """Drop codes that can no longer be exchanged; used ones stay a while, so that a late
    replay is still recognised and revokes what the first exchange issued."""
    t = now()
    with db.write() as conn:
        return conn.execute(
            delete(authorization_codes).where(authorization_codes.c.expires_at <= t - keep_used_for)
        ).rowcount
