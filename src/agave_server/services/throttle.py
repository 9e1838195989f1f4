"""Brute-force protection: too many failed logins for an account, address or client -> 429.

The counts live in the database (``storage.throttle``), so every process enforces the same
limits. A success clears the account's count (not the address's: one attacker's good login
must not reset their budget for guessing other accounts).
"""

from __future__ import annotations

from ..config import Settings
from ..errors import TooManyRequests
from ..storage import Database
from ..storage import throttle as store


class LoginThrottle:
    def __init__(self, db: Database, settings: Settings) -> None:
        self._db = db
        self._window = settings.login_window
        self._per_account = settings.login_max_failures
        self._per_address = settings.login_max_failures_per_address

    def _limits(self, account_key: str, address: str | None) -> dict[str, int]:
        limits = {account_key: self._per_account}
        if address:
            limits[f"addr:{address}"] = self._per_address
        return limits

    def check(self, account_key: str, address: str | None, what: str) -> bool:
        """Raise 429 when the account or the address has used up its failures.

        Returns whether the account has failures on record (so a success knows to clear them).
        """
        wait, recorded = store.failure_state(
            self._db, self._limits(account_key, address), self._window
        )
        if wait is not None:
            raise TooManyRequests(
                f"Too many failed {what} attempts; try again in {max(1, wait)} seconds.", wait
            )
        return account_key in recorded

    def failed(self, account_key: str, address: str | None) -> None:
        store.record_failure(self._db, list(self._limits(account_key, address)), self._window)

    def succeeded(self, account_key: str) -> None:
        store.clear(self._db, account_key)


def user_key(tenant_id: int, username: str) -> str:
    return f"user:{tenant_id}:{username}"


def client_key(tenant_id: int, consumer_key: str) -> str:
    return f"client:{tenant_id}:{consumer_key}"
