"""Tiers: how many requests a client may make, and the counters that enforce it.

Bronze, Silver, Gold and Unlimited have WSO2 API Manager 2.x's subscription defaults (1000,
2000 and 5000 requests a minute; Unlimited none); an operator changes them per tenant with
``agave-server tiers set``. Running servers re-read a tenant's limits every few seconds.

A call through the gateway is counted against its client's tier (from ``clients_create``) and
against its subscription's tier for that API; either one over its limit refuses it, so the
stricter wins. The counts live outside the process (Redis when configured, else the
database), so every process and worker enforces the same limits.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass
from typing import Protocol

from ..config import Settings
from ..errors import BadRequest
from ..storage import Database
from ..storage import tiers as store
from ..storage.records import TierLimit
from . import validation

PERIODS = {"second": 1, "minute": 60, "hour": 3600}
# WSO2 API Manager 2.x's default subscription tiers.
DEFAULTS: dict[str, tuple[int | None, int]] = {
    "Bronze": (1000, 60),
    "Silver": (2000, 60),
    "Gold": (5000, 60),
    "Unlimited": (None, 60),
}
RELOAD_SECONDS = 2.0
_LIMIT = re.compile(r"(\d{1,9})\s*/\s*(second|minute|hour)s?")


def parse_limit(text: str) -> tuple[int | None, int] | None:
    """``N/second|minute|hour`` -> (N, seconds); ``unlimited`` -> (None, 60); ``default`` ->
    None (back to WSO2's default)."""
    value = (text or "").strip().lower()
    if value == "unlimited":
        return None, 60
    if value == "default":
        return None
    match = _LIMIT.fullmatch(value)
    if not match or int(match.group(1)) < 1:
        raise BadRequest(
            f"Invalid limit {text[:40]!r}: use N/second, N/minute or N/hour with N at least 1, "
            "'unlimited', or 'default'."
        )
    return int(match.group(1)), PERIODS[match.group(2)]


def tier_name(value: str) -> str:
    """A tier name in any case, canonical spelling (an unknown one is a clear error)."""
    if not value:
        raise BadRequest(f"Missing tier name: use one of {', '.join(validation.TIERS)}.")
    return validation.tier(value, "tier")


def describe(limit: TierLimit) -> str:
    if limit.limit is None:
        return "unlimited"
    unit = {v: k for k, v in PERIODS.items()}.get(limit.period, f"{limit.period}s")
    return f"{limit.limit}/{unit}"


def effective_limits(db: Database, tenant_id: int) -> dict[str, TierLimit]:
    """Every tier of the tenant with the limit in force (the operator's, else the default)."""
    changed = store.overrides(db, tenant_id)
    out = {}
    for name, (limit, period) in DEFAULTS.items():
        if name in changed:
            limit, period = changed[name]
            out[name] = TierLimit(name, limit, period, is_default=False)
        else:
            out[name] = TierLimit(name, limit, period)
    return out


class TierBook:
    """Per-process cache of each tenant's tier limits, re-read every ``RELOAD_SECONDS``."""

    def __init__(self, db: Database, ttl: float = RELOAD_SECONDS) -> None:
        self._db = db
        self._ttl = ttl
        self._lock = threading.Lock()
        self._cache: dict[int, tuple[float, dict[str, TierLimit]]] = {}

    def limits(self, tenant_id: int) -> dict[str, TierLimit]:
        entry = self._cache.get(tenant_id)
        t = time.monotonic()
        if entry is None or t - entry[0] >= self._ttl:
            limits = effective_limits(self._db, tenant_id)
            with self._lock:
                self._cache[tenant_id] = (t, limits)
            return limits
        return entry[1]

    def limit(self, tenant_id: int, tier: str) -> TierLimit:
        limits = self.limits(tenant_id)
        return limits.get(tier) or limits["Unlimited"]


class RateCounters(Protocol):
    def hit(self, windows: list[tuple[str, int, int]]) -> list[int]:
        """Count one request in each ``(key, period, window start)``; the counts after it."""


def rate_counters(db: Database, settings: Settings) -> RateCounters:
    """Redis when configured (imported only then), else the database."""
    if settings.redis_url:
        from ..storage.redis_rate import RedisRateCounters

        return RedisRateCounters(settings.redis_url, settings.redis_prefix)
    from ..storage.rate_counters import DatabaseRateCounters

    return DatabaseRateCounters(db)


@dataclass(frozen=True)
class Throttled:
    """Over a limit: which tier refused the call and when its window ends."""

    tier: str
    limit: TierLimit
    retry_after: int


class TierThrottle:
    """Counts a gateway call against the client's tier and the subscription's tier."""

    def __init__(self, book: TierBook, counters: RateCounters) -> None:
        self.book = book
        self._counters = counters

    def is_limited(self, tenant_id: int, client_tier: str, sub_tier: str) -> bool:
        """Whether either tier has a limit (Unlimited calls are not counted at all)."""
        limits = self.book.limits(tenant_id)  # asked on every gateway decision: one look-up
        unlimited = limits["Unlimited"]
        return (limits.get(client_tier) or unlimited).limit is not None or (
            limits.get(sub_tier) or unlimited
        ).limit is not None

    def count(
        self, tenant_id: int, client_id: int, client_tier: str, api_id: int, sub_tier: str
    ) -> Throttled | None:
        """Count this call; the refusal of the stricter limit it broke, or None."""
        checks = []
        for key, tier in (
            (f"app:{client_id}", client_tier),
            (f"sub:{client_id}:{api_id}", sub_tier),
        ):
            limit = self.book.limit(tenant_id, tier)
            if limit.limit is not None:
                checks.append((key, tier, limit))
        if not checks:
            return None
        t = time.time()
        windows = []
        for key, _tier, limit in checks:
            start = int(t // limit.period) * limit.period
            windows.append((f"{key}:{limit.period}", limit.period, start))
        counts = self._counters.hit(windows)
        worst = None
        for (_key, tier, limit), (_k, period, start), n in zip(
            checks, windows, counts, strict=True
        ):
            if n > limit.limit:  # type: ignore[operator]
                wait = max(1, int(start + period - t + 0.999))
                if worst is None or wait > worst.retry_after:
                    worst = Throttled(tier, limit, wait)
        return worst
