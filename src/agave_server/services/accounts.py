"""Users: creating them (operator), and authenticating them by username and password."""

from __future__ import annotations

from .. import identity
from ..errors import BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from ..identity.local import MAX_PASSWORD
from ..security import digest, hash_password, new_secret
from ..storage import Database
from ..storage import password_resets as reset_store
from ..storage import users as store
from ..storage.records import Tenant, User
from . import validation
from .throttle import LoginThrottle, user_key

#: New passwords are at least this long (NIST SP 800-63B's minimum); existing ones still work.
MIN_PASSWORD = 8


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
        raise Conflict(
            f"User {username} already exists in tenant {tenant.code}.", field="username"
        ) from None


def _check_new_password(password: str) -> None:
    if not password:
        raise BadRequest("The password is empty.", field="password")
    if len(password) < MIN_PASSWORD:
        raise BadRequest(
            f"The password is too short ({len(password)} characters): use at least "
            f"{MIN_PASSWORD} characters.",
            field="password",
        )
    if len(password) > MAX_PASSWORD:
        raise BadRequest(
            f"The password is longer than {MAX_PASSWORD} characters.", field="password"
        )


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

    The tenant's identity backends decide (``identity.for_tenant``: local argon2id, LDAP);
    the throttle is checked before any of them is asked, so a guesser never reaches the
    directory. Raises ``PasswordLoginOff`` (403) when the tenant takes no passwords at all
    and ``ServiceUnavailable`` (503, no failure counted) when the directory cannot answer.
    Slow on purpose (argon2 or a network bind): call this off the event loop.
    """
    backends = identity.for_tenant(db, tenant)
    backends.require_password_login()
    key = user_key(tenant.id, backends.account_name(username))
    had_failures = throttle.check(key, address, "login")
    user = backends.authenticate(username, password)
    if user is None:
        throttle.failed(key, address)
        return None
    if had_failures:
        throttle.succeeded(key)
    if user.disabled:
        raise Forbidden(
            f"User {user.username} is disabled in tenant {tenant.code}; "
            "ask the tenant's administrators."
        )
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
