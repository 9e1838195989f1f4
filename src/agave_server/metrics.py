"""Prometheus metrics: every metric the server exports, defined once, in one registry.

``agave-server serve`` runs one or more uvicorn worker processes; a scrape reaches one of them.
So that the numbers are the deployment's and not one worker's, ``serve`` points
``PROMETHEUS_MULTIPROC_DIR`` at a fresh directory before any worker starts (prometheus-client
then keeps every value in a memory-mapped file per process) and the scraped worker sums the
files (``exposition``). A worker that stops calls ``process_stopped`` so that its live gauges
stop counting; ``serve`` removes the directory when it exits. Without the variable (the app
built in-process, e.g. by a test) the values live in this process's own registry.

Label values come only from fixed sets (route templates, the grant types the server knows,
the outcomes listed here), never from raw request input, so the number of series is bounded.
"""

from __future__ import annotations

import os
from bisect import bisect_left
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_LATEST
OTHER = "other"  # the label for anything outside a known set

METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Token-endpoint outcomes: "issued", an RFC 6749 error code, "throttled" (429) or "unavailable"
# (a 5xx, e.g. the database busy). Anything else a grant answers counts as "error".
GRANT_OUTCOMES = frozenset(
    {
        "issued",
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
        "access_denied",
        "authorization_pending",
        "slow_down",
        "expired_token",
        "throttled",
        "unavailable",
        "error",
    }
)
# Who a failed login or a refusal (429) was counted against (services.throttle keys).
LOGIN_KINDS = frozenset({"user", "client"})

# Histogram buckets in seconds: a bare request takes ~0.1 ms, an argon2 check ~50 ms.
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REGISTRY = CollectorRegistry(auto_describe=True)

# Its ``_count`` series is the request count (one histogram, not a counter beside it).
REQUEST_SECONDS = Histogram(
    "agave_server_request_duration_seconds",
    "HTTP requests answered and their time from arrival to the end of the response, by "
    "method, route template and status.",
    ("method", "route", "status"),
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
TOKEN_GRANTS = Counter(
    "agave_server_token_grants_total",
    "Answers of the token endpoint, by grant type and outcome.",
    ("grant_type", "outcome"),
    registry=REGISTRY,
)
LOGIN_FAILURES = Counter(
    "agave_server_login_failures_total",
    "Failed password or client-secret checks (kind: user or client).",
    ("kind",),
    registry=REGISTRY,
)
THROTTLED = Counter(
    "agave_server_throttled_requests_total",
    "Requests refused with 429 by the brute-force throttle (kind: user or client).",
    ("kind",),
    registry=REGISTRY,
)
ARGON2_WAITING = Gauge(
    "agave_server_argon2_queue_depth",
    "Password checks waiting for an argon2 slot (security.FairSlots), all workers.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
ARGON2_RUNNING = Gauge(
    "agave_server_argon2_in_progress",
    "Password checks hashing right now, all workers.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
DB_IN_USE = Gauge(
    "agave_server_db_connections_in_use",
    "Database connections checked out of the pools (plus each event loop's own), all workers.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
DB_CAPACITY = Gauge(
    "agave_server_db_connections_max",
    "Connections the pools may open (pool size plus overflow), all workers.",
    registry=REGISTRY,
    multiprocess_mode="livesum",
)
TOKENS_PURGED = Counter(
    "agave_server_tokens_purged_total",
    "Dead token pairs (revoked or past every expiry) deleted by the periodic purge.",
    registry=REGISTRY,
)

# Children of the labelled metrics, looked up once per label set (``labels()`` validates and
# locks on every call; a dict hit does not). The label sets are bounded, so are these.
_grant_children: dict[tuple[str, str], object] = {}
_grant_types: frozenset[str] = frozenset()


def known_grant_types(grant_types: frozenset[str] | set[str]) -> None:
    """The grant types the server registered (labels for anything else become ``other``)."""
    global _grant_types
    _grant_types = frozenset(grant_types)


class _Tally:
    """One label set's requests since the last flush: a count per bucket and their sum.

    In multiprocess mode every ``observe`` is two locked writes to a memory-mapped file with
    a ``getpid()`` each (~3 us, half of what the middleware costs per request); a request
    adds to these plain numbers instead, and ``flush`` writes the totals about once a second.
    """

    __slots__ = ("child", "counts", "total")

    def __init__(self, child: Any) -> None:
        self.child = child
        self.counts = [0] * (len(LATENCY_BUCKETS) + 1)  # the last one is +Inf
        self.total = 0.0


FLUSH_SECONDS = 1.0
_tallies: dict[tuple[str, str, int], _Tally] = {}


def observe_request(method: str, route: str, status: int, seconds: float) -> None:
    """Count one answered request and its duration (the observability middleware calls it,
    on the event loop's thread, as does ``flush``: no lock needed)."""
    key = (method, route, status)
    tally = _tallies.get(key)
    if tally is None:
        label = method if method in METHODS else OTHER
        tally = _Tally(REQUEST_SECONDS.labels(label, route, str(status)))
        if method not in METHODS:  # not a key that could grow the dict: written at once
            tally.child.observe(seconds)
            return
        _tallies[key] = tally
    tally.counts[bisect_left(LATENCY_BUCKETS, seconds)] += 1
    tally.total += seconds


def _write(tally: _Tally, counts: list[int], total: float) -> None:
    """Add counts and sum to the histogram child (what ``Histogram.observe`` does, in bulk)."""
    buckets = tally.child._buckets
    for i, n in enumerate(counts):
        if n:
            buckets[i].inc(n)
    tally.child._sum.inc(total)


def flush() -> None:
    """Write the requests counted since the last flush (periodically, before a scrape, and
    when the worker stops)."""
    for tally in list(_tallies.values()):
        counts = tally.counts
        if not any(counts):
            continue
        total = tally.total
        tally.counts = [0] * len(counts)
        tally.total = 0.0
        _write(tally, counts, total)


def grant_outcome(status: int, body: object) -> str:
    """The outcome label of one token-endpoint answer (status and RFC 6749 body)."""
    if status == 200:
        return "issued"
    if status == 429:
        return "throttled"
    if status >= 500:
        return "unavailable"
    error = body.get("error") if isinstance(body, dict) else None
    return error if error in GRANT_OUTCOMES else "error"


def token_grant(grant_type: str | None, status: int, body: object) -> None:
    """Count one answer of the token endpoint."""
    label = (grant_type if grant_type in _grant_types else OTHER) if grant_type else "none"
    outcome = grant_outcome(status, body)
    key = (label, outcome)
    child = _grant_children.get(key)
    if child is None:
        child = _grant_children[key] = TOKEN_GRANTS.labels(label, outcome)
    child.inc()  # type: ignore[attr-defined]


def _kind(throttle_key: str) -> str:
    kind = throttle_key.split(":", 1)[0]
    return kind if kind in LOGIN_KINDS else OTHER


def login_failed(throttle_key: str) -> None:
    """A failed password or secret check, counted by the kind of its throttle key."""
    LOGIN_FAILURES.labels(_kind(throttle_key)).inc()


def throttled(throttle_key: str) -> None:
    """A request refused with 429 by the throttle."""
    THROTTLED.labels(_kind(throttle_key)).inc()


def tokens_purged(count: int) -> None:
    if count > 0:
        TOKENS_PURGED.inc(count)


# Decided when prometheus-client was imported (it reads the variable once, at import).
_MULTIPROCESS = values.ValueClass is not values.MutexValue


def is_multiprocess() -> bool:
    return _MULTIPROCESS


def exposition() -> bytes:
    """The text exposition of every metric: summed over all workers in multiprocess mode."""
    if is_multiprocess():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def forget_dead_processes() -> None:
    """Drop the live gauges of workers that died without stopping (killed, crashed): a
    starting worker calls this, so a restarted worker's predecessor stops counting."""
    folder = os.environ.get(MULTIPROC_ENV)
    if not is_multiprocess() or not folder:
        return
    for name in os.listdir(folder):
        if not name.startswith("gauge_live"):
            continue
        try:
            pid = int(name.rsplit("_", 1)[1].split(".", 1)[0])
        except (IndexError, ValueError):
            continue
        if pid != os.getpid() and not _alive(pid):
            multiprocess.mark_process_dead(pid, folder)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    return True


def process_stopped() -> None:
    """This worker is stopping: its live gauges (queue depth, connections) stop counting."""
    if is_multiprocess():
        multiprocess.mark_process_dead(os.getpid())
