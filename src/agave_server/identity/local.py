"""Local passwords: the tenant's users table, argon2id hashes (the default backend).

Behaviour as before the identity backends existed: an unknown user costs one argon2
verification like a known one (a dummy hash), and a hash made with older parameters is
upgraded on a successful login.
"""

from __future__ import annotations

import logging

from sqlalchemy.exc import SQLAlchemyError

from ..security import hash_password, needs_rehash, verify_password
from ..storage import Database
from ..storage import users as store
from ..storage.records import Tenant, User

MAX_PASSWORD = 1024
log = logging.getLogger(__name__)


class LocalPasswords:
    def __init__(self, db: Database) -> None:
        self.db = db

    def authenticate(self, tenant: Tenant, username: str, password: str) -> User | None:
        """The user if the password is right, else None. Slow on purpose (argon2)."""
        user = None
        if len(password) <= MAX_PASSWORD:
            user = store.get_user(self.db, tenant.id, username)
        if user is not None and not store.has_local_password(user):
            user = None  # a directory or upstream user: same cost as an unknown name
        if not verify_password(user.password_hash if user else None, password[:MAX_PASSWORD]):
            return None
        assert user is not None
        self._upgrade_hash(user, password)
        return user

    def profile(self, tenant: Tenant, username: str) -> User | None:
        return store.get_user(self.db, tenant.id, username)

    def _upgrade_hash(self, user: User, password: str) -> None:
        """Re-hash with the configured argon2 parameters when the stored hash used others.

        Only possible here, where the plain password is known. Best effort: the login already
        succeeded, so a busy database only postpones the upgrade to the next login.
        """
        if not needs_rehash(user.password_hash):
            return
        try:
            store.upgrade_password_hash(
                self.db, user.id, user.password_hash, hash_password(password)
            )
        except SQLAlchemyError as err:
            log.warning("password hash upgrade for user %s postponed: %s", user.id, err)
