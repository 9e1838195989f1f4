"""Readiness: can this process serve real requests (database, Redis, LDAP...) right now?

``/health`` only says the process answers; ``/health/ready`` (for a load balancer) runs every
registered check, each in a thread of its own small pool, all under one timeout, and is
ready only when every check passed. A check is a plain function that returns (optionally a
short detail) or raises; what it raised is logged and summarised without its message, which
may carry host names or URLs, in the public answer.

Other parts register their checks with ``register_readiness_check(name, fn)`` (the identity
backends add LDAP); registering a name again replaces its check.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger("agave_server.readiness")

Check = Callable[[], object]
_checks: dict[str, Check] = {}
# A check that hangs keeps its thread; a few threads, and no second copy of a hung check.
_pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="agave-ready")
_running: dict[str, Future] = {}


def register_readiness_check(name: str, fn: Check) -> None:
    """Add (or replace) the check called ``name``; ``fn()`` raises when not ready."""
    _checks[name] = fn


def unregister_readiness_check(name: str) -> None:
    _checks.pop(name, None)


def registered() -> list[str]:
    return sorted(_checks)


def _timed(fn: Check) -> tuple[float, object]:
    start = time.perf_counter()
    detail = fn()
    return (time.perf_counter() - start) * 1000, detail


def _submit(name: str, fn: Check) -> Future | None:
    """Start ``fn`` unless its previous run is still going (then None: it is stuck)."""
    previous = _running.get(name)
    if previous is not None and not previous.done():
        return None
    future = _pool.submit(_timed, fn)
    _running[name] = future
    return future


def _result(name: str, future: Future | None, timeout: float) -> dict[str, Any]:
    if future is None:
        return {"status": "fail", "error": "a previous check has not finished (stuck)"}
    if not future.done():
        return {"status": "fail", "error": f"no answer within {timeout:g}s"}
    err = future.exception()
    if err is not None:
        log.warning("readiness check %s failed: %s: %s", name, type(err).__name__, err)
        return {"status": "fail", "error": f"unavailable ({type(err).__name__})"}
    ms, detail = future.result()
    out: dict[str, Any] = {"status": "ok", "duration_ms": round(ms, 2)}
    if isinstance(detail, str) and detail:
        out["detail"] = detail
    return out


def _retrieve(wrapper: asyncio.Future) -> None:
    """Mark a late check's outcome as seen (asyncio would log it as never retrieved)."""
    if not wrapper.cancelled():
        wrapper.exception()


async def run_checks(timeout: float) -> tuple[bool, dict[str, dict[str, Any]]]:
    """Every check's result within ``timeout`` seconds: (all passed, per-check status)."""
    futures = {name: _submit(name, fn) for name, fn in sorted(_checks.items())}
    waiting = [asyncio.wrap_future(f) for f in futures.values() if f is not None]
    if waiting:
        await asyncio.wait(waiting, timeout=timeout)
    for wrapper in waiting:  # results are read from the futures themselves (below)
        if wrapper.done():
            wrapper.exception()
        else:
            wrapper.add_done_callback(_retrieve)
    results = {name: _result(name, future, timeout) for name, future in futures.items()}
    return all(r["status"] == "ok" for r in results.values()), results


def database_check(db: Any) -> Check:
    """One ``SELECT 1`` on a pooled connection."""

    def check() -> None:
        with db.read() as conn:
            conn.exec_driver_sql("SELECT 1").fetchall()

    return check


def redis_check(url: str, timeout: float) -> Check:
    """``PING`` on a client of its own, with socket timeouts of ``timeout``."""
    import redis

    client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)

    def check() -> None:
        client.ping()

    return check
