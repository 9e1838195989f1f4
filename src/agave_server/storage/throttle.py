"""Failed-login counters in the database, so every server process sees the same counts.

One row per key (an account, a source address or a consumer key) holds the start of the
current window and the failures in it. A key is blocked while its count is at the limit and
its window has not ended.
"""

from __future__ import annotations

from sqlalchemy import bindparam, case, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..models import login_failures
from .database import Database, Prepared, now

FailureRow = tuple[str, int, int]  # (key, window start, failures)


def failure_state(db: Database, limits: dict[str, int], window: int) -> tuple[int | None, set[str]]:
    """Seconds until the most-blocked key may try again (None if none is blocked), and the keys
    that have any failures recorded."""
    keys = list(limits)
    if len(keys) > 2:
        raise ValueError("at most two keys (an account and an address) are checked at once")
    with db.driver() as conn:
        cursor = _STATE.run(db, conn, first=keys[0], second=keys[-1])
        try:
            rows = cursor.fetchall()
        finally:
            cursor.close()
    return state_of(rows, limits, window)


def state_of(
    rows: list[FailureRow], limits: dict[str, int], window: int
) -> tuple[int | None, set[str]]:
    """``failure_state`` from counter rows read already (``clients.get_client_for_auth`` reads
    them in the client's own statement)."""
    t = now()
    waits = [
        window_start + window - t
        for key, window_start, failures in rows
        if failures >= limits[key] and window_start + window > t
    ]
    return (max(waits) if waits else None), {key for key, _, _ in rows}


# On every token request: a prepared statement (an account key and an address key).
_STATE = Prepared(
    select(login_failures.c.key, login_failures.c.window_start, login_failures.c.failures).where(
        login_failures.c.key.in_([bindparam("first"), bindparam("second")])
    )
)


def record_failure(db: Database, keys: list[str], window: int) -> None:
    """Count one failure for each key, starting a new window where the old one has ended."""
    t = now()
    expired = login_failures.c.window_start <= t - window
    for key in keys:
        with db.write() as conn:
            updated = conn.execute(
                update(login_failures)
                .where(login_failures.c.key == key)
                .values(
                    failures=case((expired, 1), else_=login_failures.c.failures + 1),
                    window_start=case((expired, t), else_=login_failures.c.window_start),
                )
            ).rowcount
            if updated:
                continue
        try:
            with db.write() as conn:
                conn.execute(insert(login_failures).values(key=key, window_start=t, failures=1))
        except IntegrityError:
            # Another process inserted it first; count ours on top.
            with db.write() as conn:
                conn.execute(
                    update(login_failures)
                    .where(login_failures.c.key == key)
                    .values(failures=login_failures.c.failures + 1)
                )


def clear(db: Database, key: str) -> None:
    """Forget an account's failures after a successful login."""
    with db.write() as conn:
        conn.execute(delete(login_failures).where(login_failures.c.key == key))


def purge(db: Database, window: int) -> int:
    """Drop counters whose window ended (housekeeping)."""
    with db.write() as conn:
        return conn.execute(
            delete(login_failures).where(login_failures.c.window_start <= now() - window)
        ).rowcount


def recent(db: Database, prefix: str, window: int, limit: int) -> list[tuple[str, int, int]]:
    """Counters under ``prefix`` whose window is still open: (key, failures, seconds left)."""
    t = now()
    escaped = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    query = (
        select(login_failures.c.key, login_failures.c.failures, login_failures.c.window_start)
        .where(
            login_failures.c.key.like(escaped + "%", escape="\\"),
            login_failures.c.window_start > t - window,
        )
        .order_by(login_failures.c.failures.desc())
        .limit(limit)
    )
    with db.read() as conn:
        return [(k, n, start + window - t) for k, n, start in conn.execute(query)]
