"""Users: creating them (operator), and authenticating them by username and password."""

from __future__ import annotations

from ..errors import BadRequest, Conflict, NotFound, Unauthorized
from ..security import hash_password, verify_password
from ..storage import Database
from ..storage import users as store
from ..storage.records import Tenant, User
from . import validation
from .throttle import LoginThrottle, user_key

MAX_PASSWORD = 1024


def add_user(
    db: Database,
    tenant: Tenant,
    username: str,
    password: str,
    is_admin: bool = False,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    validation.username(username)
    _check_new_password(password)
    for field, value in (("email", email), ("first name", first_name), ("last name", last_name)):
        validation.text(value, field, 255)
    try:
        return store.add_user(
            db, tenant.id, username, hash_password(password), is_admin, email, first_name, last_name
        )
    except store.DuplicateUser:
        raise Conflict(f"User {username} already exists in tenant {tenant.code}.") from None


def _check_new_password(password: str) -> None:
    if not password:
        raise BadRequest("The password is empty.")
    if len(password) > MAX_PASSWORD:
        raise BadRequest(f"The password is longer than {MAX_PASSWORD} characters.")


def require_user(db: Database, tenant: Tenant, username: str) -> User:
    user = store.get_user(db, tenant.id, username)
    if user is None:
        raise NotFound(f"No user {username} in tenant {tenant.code}.")
    return user


def change_password(db: Database, tenant: Tenant, username: str, password: str) -> None:
    user = require_user(db, tenant, username)
    _check_new_password(password)
    store.set_password(db, user.id, hash_password(password))


def remove_user(db: Database, tenant: Tenant, username: str) -> int:
    """Remove the user, their clients and every token issued to them or their clients."""
    return store.remove_user(db, require_user(db, tenant, username).id)


def authenticate(
    db: Database,
    throttle: LoginThrottle,
    tenant: Tenant,
    username: str,
    password: str,
    address: str | None,
) -> User | None:
    """The user if the password is right, else None; raises 429 when throttled.

    The argon2 verification is slow on purpose: call this off the event loop.
    """
    key = user_key(tenant.id, username)
    had_failures = throttle.check(key, address, "login")
    user = store.get_user(db, tenant.id, username) if len(password) <= MAX_PASSWORD else None
    if not verify_password(user.password_hash if user else None, password[:MAX_PASSWORD]):
        throttle.failed(key, address)
        return None
    if had_failures:
        throttle.succeeded(key)
    return user


def authenticate_basic(
    db: Database,
    throttle: LoginThrottle,
    tenant: Tenant,
    username: str,
    password: str,
    address: str | None,
) -> User:
    """Like ``authenticate`` but raises 401 (with the Basic challenge) on failure."""
    user = authenticate(db, throttle, tenant, username, password, address)
    if user is None:
        raise Unauthorized(
            "Invalid username or password.", {"WWW-Authenticate": basic_challenge(tenant)}
        )
    return user


def basic_challenge(tenant: Tenant | None) -> str:
    realm = f"Agave tenant {tenant.code}" if tenant else "Agave"
    return f'Basic realm="{realm}"'
