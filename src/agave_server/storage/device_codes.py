"""RFC 8628 device authorizations: create, poll, decide, redeem once, purge.

Only the device code's SHA-256 digest is stored (it is a bearer secret until redeemed); the
user code is stored normalised, since a person types it back. Every state change is one
conditional UPDATE whose row count decides, so two processes can never both approve, deny
or redeem the same code, and ``slow_down``'s longer interval is in the row for every worker.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..models import clients, device_codes, users
from .database import Database, now

PENDING, APPROVED, DENIED, REDEEMED = "pending", "approved", "denied", "redeemed"
#: RFC 8628 §3.5: each slow_down adds 5 seconds to the interval.
SLOW_DOWN_STEP = 5


class DuplicateUserCode(Exception):
    """A live code of this tenant already has this user code (draw another)."""


@dataclass(frozen=True)
class DeviceCode:
    id: int
    tenant_id: int
    client_id: int
    user_code: str
    scope: str
    created_at: int
    expires_at: int
    interval: int
    last_poll_ms: int | None
    status: str
    user_id: int | None
    decided_at: int | None

    def is_expired(self, at: int | None = None) -> bool:
        return self.expires_at <= (now() if at is None else at)


_FIELDS = tuple(c.name for c in device_codes.c if c.name != "device_digest")


def _code(row) -> DeviceCode:
    return DeviceCode(**{name: row._mapping[name] for name in _FIELDS})


def create(
    db: Database,
    *,
    tenant_id: int,
    client_id: int,
    device_digest: str,
    user_code: str,
    scope: str,
    lifetime: int,
    interval: int,
) -> DeviceCode:
    """Store a new pending authorization (raises DuplicateUserCode on a user-code clash)."""
    t = now()
    values = {
        "tenant_id": tenant_id,
        "client_id": client_id,
        "device_digest": device_digest,
        "user_code": user_code,
        "scope": scope,
        "created_at": t,
        "expires_at": t + lifetime,
        "interval": interval,
        "last_poll_ms": None,
        "status": PENDING,
        "user_id": None,
        "decided_at": None,
    }
    try:
        with db.write() as conn:
            new_id = conn.execute(insert(device_codes).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        raise DuplicateUserCode(user_code) from None
    values.pop("device_digest")
    return DeviceCode(id=new_id, **values)


def by_device_digest(db: Database, tenant_id: int, device_digest: str) -> DeviceCode | None:
    with db.read() as conn:
        row = conn.execute(
            select(device_codes).where(
                device_codes.c.tenant_id == tenant_id,
                device_codes.c.device_digest == device_digest,
            )
        ).first()
    return _code(row) if row else None


def by_user_code(db: Database, tenant_id: int, user_code: str) -> DeviceCode | None:
    """A live (unexpired) authorization by its normalised user code."""
    with db.read() as conn:
        row = conn.execute(
            select(device_codes).where(
                device_codes.c.tenant_id == tenant_id,
                device_codes.c.user_code == user_code,
                device_codes.c.expires_at > now(),
            )
        ).first()
    return _code(row) if row else None


def client_of(db: Database, code: DeviceCode) -> tuple[str, str, str]:
    """(client name, description, owner's username) of the client that asked for ``code``."""
    query = (
        select(clients.c.name, clients.c.description, users.c.username)
        .join(users, users.c.id == clients.c.user_id)
        .where(clients.c.id == code.client_id)
    )
    with db.read() as conn:
        row = conn.execute(query).first()
    return (row.name, row.description, row.username) if row else ("", "", "")


def poll(db: Database, code_id: int, min_interval: int) -> bool:
    """Record a poll; True when it came too soon (the interval then grows by 5 s, stored).

    Too soon means less than the current interval after the previous poll, measured in
    milliseconds so that a client polling exactly every ``interval`` seconds is never
    punished for the clock's rounding. A poll that comes too soon also counts as a poll.
    """
    ms = int(time.time() * 1000)
    with db.write() as conn:
        row = conn.execute(
            select(device_codes.c.last_poll_ms, device_codes.c.interval)
            .where(device_codes.c.id == code_id)
            .with_for_update()
        ).first()
        if row is None:
            return False
        interval = max(row.interval, min_interval)
        too_soon = row.last_poll_ms is not None and ms - row.last_poll_ms < interval * 1000
        values: dict = {"last_poll_ms": ms}
        if too_soon:
            values["interval"] = interval + SLOW_DOWN_STEP
        conn.execute(update(device_codes).where(device_codes.c.id == code_id).values(**values))
    return too_soon


def decide(db: Database, code_id: int, user_id: int, approved: bool) -> bool:
    """Approve or deny a pending, unexpired code for ``user_id``; False if it was not pending."""
    t = now()
    with db.write() as conn:
        changed = conn.execute(
            update(device_codes)
            .where(
                device_codes.c.id == code_id,
                device_codes.c.status == PENDING,
                device_codes.c.expires_at > t,
            )
            .values(status=APPROVED if approved else DENIED, user_id=user_id, decided_at=t)
        ).rowcount
    return changed == 1


def redeem(db: Database, code_id: int) -> bool:
    """Mark an approved code used; True for exactly one caller, ever."""
    with db.write() as conn:
        changed = conn.execute(
            update(device_codes)
            .where(device_codes.c.id == code_id, device_codes.c.status == APPROVED)
            .values(status=REDEEMED)
        ).rowcount
    return changed == 1


def purge(db: Database, grace: int = 3600) -> int:
    """Delete authorizations that expired more than ``grace`` seconds ago."""
    with db.write() as conn:
        return conn.execute(
            delete(device_codes).where(device_codes.c.expires_at < now() - grace)
        ).rowcount
