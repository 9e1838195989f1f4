"""Where the failed-login counters live: the database (default) or Redis (``AGAVE_SERVER_REDIS``).

Both keep the counts outside the process, so every server process enforces the same limits;
``services.throttle`` sees only this interface and never which one it has.
"""

from __future__ import annotations

from typing import Protocol

from ..config import Settings
from . import throttle
from .database import Database


class LoginCounters(Protocol):
    def failure_state(self, limits: dict[str, int], window: int) -> tuple[int | None, set[str]]:
        """Seconds until the most-blocked key may retry (None if none), and keys with failures."""

    def record_failure(self, keys: list[str], window: int) -> None:
        """Count one failure for each key."""

    def clear(self, key: str) -> None:
        """Forget one key's failures."""

    def recent(self, prefix: str, window: int, limit: int) -> list[tuple[str, int, int]]:
        """(key, failures, seconds until its window ends) of the live keys under ``prefix``."""


class DatabaseCounters:
    """The counters in the ``login_failures`` table (``storage.throttle``)."""

    # The rows can be read in the same statement as what they guard (a client's).
    in_database = True

    def __init__(self, db: Database) -> None:
        self._db = db

    def failure_state(self, limits: dict[str, int], window: int) -> tuple[int | None, set[str]]:
        return throttle.failure_state(self._db, limits, window)

    def record_failure(self, keys: list[str], window: int) -> None:
        throttle.record_failure(self._db, keys, window)

    def clear(self, key: str) -> None:
        throttle.clear(self._db, key)

    def recent(self, prefix: str, window: int, limit: int) -> list[tuple[str, int, int]]:
        return throttle.recent(self._db, prefix, window, limit)

    def state_of(
        self, rows: list[throttle.FailureRow], limits: dict[str, int], window: int
    ) -> tuple[int | None, set[str]]:
        return throttle.state_of(rows, limits, window)


def login_counters(db: Database, settings: Settings) -> LoginCounters:
    """Redis when configured (the client library is imported only then), else the database."""
    if settings.redis_url:
        from .redis_counters import RedisCounters

        return RedisCounters(settings.redis_url, settings.redis_prefix)
    return DatabaseCounters(db)
