"""Times for people: "in 3h 12m", "5m ago", and local clock times.

Token expiry is stored as Unix seconds; ``agave tokens show`` says when that
is on the user's own clock and how long is left.
"""

from __future__ import annotations

from datetime import datetime


def span(seconds: float) -> str:
    """A short duration: ``3h 12m``, ``4m 05s``, ``2d 3h`` (sign ignored)."""
    total = int(abs(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s"
    return f"{secs}s"


def relative(seconds_from_now: float) -> str:
    """``in 3h 12m`` for the future, ``3h 12m ago`` for the past."""
    if seconds_from_now >= 0:
        return f"in {span(seconds_from_now)}"
    return f"{span(seconds_from_now)} ago"


def local_time(unix_seconds: float) -> str:
    """A timestamp on the user's clock, with its zone: ``2026-11-28 09:14:03 CET``."""
    return datetime.fromtimestamp(unix_seconds).astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")


def iso8601(unix_seconds: float) -> str:
    """A timestamp for machines: ISO 8601 with the local UTC offset."""
    return datetime.fromtimestamp(unix_seconds).astimezone().isoformat(timespec="seconds")
