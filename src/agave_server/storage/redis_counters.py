"""Failed-login counters in Redis (``AGAVE_SERVER_REDIS``), shared by every server process.

The same fixed-window rule as the database version (``storage.throttle``): a key's window
starts with its first failure and lasts ``window`` seconds, and the key is blocked while its
count is at the limit. Here the window is the key's time to live, so counters vanish by
themselves: Redis needs no purge and no persistence (losing it only forgets recent failures).

Every key starts with the configured prefix, so several deployments (or test runs) can share
one Redis without seeing each other's counters. Redis errors propagate: the app answers 503
rather than letting guesses through unthrottled.
"""

from __future__ import annotations

import redis

# INCR and the first EXPIRE in one atomic step: a crash between the two must not leave a
# counter that never expires (an account locked for ever).
_COUNT_FAILURE = """
local n = redis.call('INCR', KEYS[1])
if n == 1 then redis.call('EXPIRE', KEYS[1], ARGV[1]) end
return n
"""


class RedisCounters:
    """``storage.counters.LoginCounters`` kept in Redis under ``<prefix>fail:<key>``."""

    def __init__(self, url: str, prefix: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = prefix + "fail:"
        self._count_failure = self._redis.register_script(_COUNT_FAILURE)

    def _k(self, key: str) -> str:
        return self._prefix + key

    def failure_state(self, limits: dict[str, int], window: int) -> tuple[int | None, set[str]]:
        keys = list(limits)
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            pipe.get(self._k(key))
            pipe.ttl(self._k(key))
        replies = pipe.execute()
        waits, recorded = [], set()
        for i, key in enumerate(keys):
            count, ttl = replies[2 * i], replies[2 * i + 1]
            if count is None:
                continue
            recorded.add(key)
            if int(count) >= limits[key] and ttl > 0:
                waits.append(int(ttl))
        return (max(waits) if waits else None), recorded

    def record_failure(self, keys: list[str], window: int) -> None:
        pipe = self._redis.pipeline(transaction=False)
        for key in keys:
            self._count_failure(keys=[self._k(key)], args=[window], client=pipe)
        pipe.execute()

    def clear(self, key: str) -> None:
        self._redis.delete(self._k(key))

    def recent(self, prefix: str, window: int, limit: int) -> list[tuple[str, int, int]]:
        found: list[tuple[str, int, int]] = []
        pattern = self._k(prefix).replace("*", "\\*").replace("?", "\\?") + "*"
        for raw in self._redis.scan_iter(match=pattern, count=500):
            if len(found) >= limit:
                break
            count, ttl = self._redis.get(raw), self._redis.ttl(raw)
            if count is not None and ttl > 0:
                key = raw.decode() if isinstance(raw, bytes) else raw
                found.append((key[len(self._prefix) :], int(count), int(ttl)))
        return sorted(found, key=lambda row: -row[1])
