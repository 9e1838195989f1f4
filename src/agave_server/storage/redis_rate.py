"""The gateway's request counters in Redis (``AGAVE_SERVER_REDIS``), shared by every process.

Same fixed, period-aligned windows as the database version (``storage.rate_counters``): the
window's start is part of the key and the key expires with its window, so nothing needs
purging. Redis errors propagate (the app answers 503, never an unthrottled call).
"""

from __future__ import annotations

import redis

# INCR and the first EXPIRE in one atomic step, so no counter outlives its window.
_HIT = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisRateCounters:
    """``services.tiers.RateCounters`` under ``<prefix>rate:<key>:<window start>``."""

    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = prefix + "rate:"
        self._hit = self._redis.register_script(_HIT)

    def hit(self, windows: list[tuple[str, int, int]]) -> list[int]:
        pipe = self._redis.pipeline(transaction=False)
        for key, period, window_start in windows:
            self._hit(keys=[f"{self._prefix}{key}:{window_start}"], args=[period + 1], client=pipe)
        return [int(n) for n in pipe.execute()]
