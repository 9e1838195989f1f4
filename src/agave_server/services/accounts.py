"""Users: creating them (operator), and authenticating them by username and password."""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from ..errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from ..security import digest, hash_password, needs_rehash, new_secret, verify_password
from ..storage import Database
from ..storage import password_resets as reset_store
from ..storage import users as store
from ..storage.records import Tenant, User
from . import validation
from .throttle import LoginThrottle, user_key

MAX_PASSWORD = 1024
log = logging.getLogger(__name__)


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


def set_disabled(db: Database, tenant: Tenant, username: str, disabled: bool) -> int:
    """Disable a user (no sign-in, and every token of theirs and their clients revoked at
    once) or enable them again; returns how many tokens were revoked."""
    return store.set_disabled(db, require_user(db, tenant, username).id, disabled)


RESET_LINK_LIFETIME = 24 * 3600


def create_reset_link(db: Database, tenant: Tenant, username: str) -> str:
    """A one-time secret for ``{issuer}/portal/reset/<secret>``, valid for a day; an earlier
    unused link of the user stops working. Only its digest is stored."""
    user = require_user(db, tenant, username)
    secret = new_secret()
    reset_store.create(db, tenant.id, user.id, digest(secret), RESET_LINK_LIFETIME)
    return secret


def reset_link_user(db: Database, tenant: Tenant, secret: str) -> User | None:
    """Whose live reset link this is (None: unknown, used or expired)."""
    if not secret.isascii() or not secret.isalnum() or len(secret) > 128:
        return None
    user_id = reset_store.find_live(db, tenant.id, digest(secret))
    return store.get_user_by_id(db, user_id) if user_id is not None else None


def redeem_reset_link(db: Database, tenant: Tenant, secret: str, password: str) -> User:
    """Set the password through the link, once; raises 400 for a bad password or link."""
    _check_new_password(password)
    if reset_link_user(db, tenant, secret) is None:
        raise BadRequest("This password reset link is unknown, used or expired: ask for a new one.")
    user_id = reset_store.redeem(db, tenant.id, digest(secret), hash_password(password))
    user = store.get_user_by_id(db, user_id) if user_id is not None else None
    if user is None:
        raise BadRequest("This password reset link is unknown, used or expired: ask for a new one.")
    return user


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
    assert user is not None and user.password_hash is not None
    if user.disabled:
        raise Forbidden(
            f"User {user.username} is disabled in tenant {tenant.code}; "
            "ask the tenant's administrators."
        )
    _upgrade_hash(db, user, password)
    return user


def _upgrade_hash(db: Database, user: User, password: str) -> None:
    """Re-hash with the configured argon2 parameters when the stored hash used others.

    Only possible here, where the plain password is known. Best effort: the login already
    succeeded, so a busy database only postpones the upgrade to the next login.
    """
    if not needs_rehash(user.password_hash):
        return
    try:
        store.upgrade_password_hash(db, user.id, user.password_hash, hash_password(password))
    except SQLAlchemyError as err:
        log.warning("password hash upgrade for user %s postponed: %s", user.id, err)


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
