"""Brute-force protection: too many failed logins for an account, address or client -> 429.

The counts live in the database, or in Redis when configured (``storage.counters``), so every
process enforces the same limits. A success clears the account's count (not the address's: one
attacker's good login must not reset their budget for guessing other accounts).
"""

from __future__ import annotations

from dataclasses import dataclass

from .. import metrics
from ..config import Settings
from ..errors import TooManyRequests
from ..storage import Database
from ..storage.counters import login_counters


class LoginThrottle:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._counters = login_counters(db, settings)
        self._window = settings.login_window
        self._per_account = settings.login_max_failures
        # Read by ``recent_failures`` (the admins' failed-logins page).
        self.counters = self._counters
        self.window = self._window
        self.per_account = self._per_account
        self._per_address = settings.login_max_failures_per_address

    def _limits(self, account_key: str, address: str | None) -> dict[str, int]:
        account, address_key = self.keys(account_key, address)
        limits = {account: self._per_account}
        if address_key is not None:
            limits[address_key] = self._per_address
        return limits

    @property
    def in_database(self) -> bool:
        """Whether the counters are rows of the database, which a caller may read together
        with what they guard (``check_rows``) instead of asking ``check`` for them."""
        return bool(getattr(self._counters, "in_database", False))

    def keys(self, account_key: str, address: str | None) -> tuple[str, str | None]:
        """The counter keys ``check`` reads: the account's and the address's (if known)."""
        return account_key, (f"addr:{address}" if address else None)

    def check(self, account_key: str, address: str | None, what: str) -> bool:
        """Raise 429 when the account or the address has used up its failures.

        Returns whether the account has failures on record (so a success knows to clear them).
        """
        limits = self._limits(account_key, address)
        return self._verdict(account_key, what, *self._counters.failure_state(limits, self._window))

    def check_rows(
        self, account_key: str, address: str | None, rows: list[tuple[str, int, int]], what: str
    ) -> bool:
        """``check`` from the counter rows of ``keys`` read already (database counters only)."""
        if not rows:  # no failures on record: nothing to wait for (the usual request)
            return False
        limits = self._limits(account_key, address)
        state = self._counters.state_of(rows, limits, self._window)  # type: ignore[attr-defined]
        return self._verdict(account_key, what, *state)

    def _verdict(self, account_key: str, what: str, wait: int | None, recorded: set[str]) -> bool:
        if wait is not None:
            metrics.throttled(account_key)
            raise TooManyRequests(
                f"Too many failed {what} attempts; try again in {max(1, wait)} seconds.", wait
            )
        return account_key in recorded

    def failed(self, account_key: str, address: str | None) -> None:
        metrics.login_failed(account_key)
        self._counters.record_failure(list(self._limits(account_key, address)), self._window)

    def succeeded(self, account_key: str) -> None:
        self._counters.clear(account_key)


@dataclass(frozen=True)
class FailedLogins:
    """Failed attempts on one account or consumer key in the current window."""

    kind: str  # "user" or "client"
    name: str
    failures: int
    window_ends_in: int
    blocked: bool


def recent_failures(
    throttle: LoginThrottle, tenant_id: int, limit: int = 200
) -> list[FailedLogins]:
    """The tenant's accounts and consumer keys with failed logins in the current window."""
    out = []
    for kind in ("user", "client"):
        prefix = f"{kind}:{tenant_id}:"
        for key, failures, left in throttle.counters.recent(prefix, throttle.window, limit):
            out.append(
                FailedLogins(
                    kind,
                    key[len(prefix) :],
                    failures,
                    left,
                    failures >= throttle.per_account,
                )
            )
    return sorted(out, key=lambda row: -row.failures)[:limit]


def user_key(tenant_id: int, username: str) -> str:
    return f"user:{tenant_id}:{username}"


def client_key(tenant_id: int, consumer_key: str) -> str:
    return f"client:{tenant_id}:{consumer_key}"
