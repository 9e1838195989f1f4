"""What the verification page does with a user code: find it (throttled), approve or deny.

A person types the code shown by a device; wrong codes count against the address like
wrong passwords do (``services.throttle``), so user codes cannot be guessed from one place.
A decision is taken once, by a signed-in user, on a pending and unexpired code.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..oauth.device import display_user_code, normalise_user_code
from ..storage import Database
from ..storage import device_codes as store
from ..storage.device_codes import DeviceCode
from ..storage.records import Tenant, User
from ..storage.users import SERVICE_USERNAME
from .throttle import LoginThrottle


class UnknownCode(Exception):
    """No pending device login has this code (wrong, expired, or already decided)."""


@dataclass(frozen=True)
class PendingLogin:
    """A device login waiting for a person's decision, as the approval page shows it."""

    code: DeviceCode
    client_name: str
    client_description: str
    client_owner: str | None  # None for the tenant's built-in client
    scopes: list[str]

    @property
    def user_code(self) -> str:
        return display_user_code(self.code.user_code)

    @property
    def expires_at(self) -> int:
        return self.code.expires_at


def _throttle_key(tenant: Tenant, address: str | None) -> str:
    return f"usercode:{tenant.id}:{address or '-'}"


def find(
    db: Database, throttle: LoginThrottle, tenant: Tenant, typed: str, address: str | None
) -> PendingLogin:
    """The pending login for what the person typed; raises UnknownCode (counted) or 429."""
    key = _throttle_key(tenant, address)
    throttle.check(key, address, "device code")
    normalised = normalise_user_code(typed or "")
    code = store.by_user_code(db, tenant.id, normalised) if normalised else None
    if code is None or code.status != store.PENDING:
        throttle.failed(key, address)
        raise UnknownCode(typed)
    name, description, owner = store.client_of(db, code)
    return PendingLogin(
        code=code,
        client_name=name,
        client_description=description,
        client_owner=None if owner == SERVICE_USERNAME else owner,
        scopes=code.scope.split(),
    )


def decide(db: Database, pending: PendingLogin, user: User, approved: bool) -> bool:
    """Approve or deny for ``user``; False when the code was decided or expired meanwhile."""
    return store.decide(db, pending.code.id, user.id, approved)
