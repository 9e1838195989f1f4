"""Users of a tenant: accounts, password hashes and profiles."""

from __future__ import annotations

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..models import browser_sessions, clients, subscriptions, tokens, users
from .database import Database, Prepared, now
from .records import User

#: The owner of a tenant's built-in clients (storage.builtin_clients): "!" keeps the name
#: out of every username a person can have.
SERVICE_USERNAME = "!builtin"


class DuplicateUser(Exception):
    """The tenant already has a user with this name."""


def _user(row) -> User:
    return User(**dict(row._mapping))


def add_user(
    db: Database,
    tenant_id: int,
    username: str,
    password_hash: str,
    is_admin: bool = False,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    values = {
        "tenant_id": tenant_id,
        "username": username,
        "password_hash": password_hash,
        "is_admin": is_admin,
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "created_at": now(),
    }
    try:
        with db.write() as conn:
            new_id = conn.execute(insert(users).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        raise DuplicateUser(username) from None
    return User(id=new_id, **values)


def get_user(db: Database, tenant_id: int, username: str) -> User | None:
    with db.read() as conn:
        row = conn.execute(
            select(users).where(users.c.tenant_id == tenant_id, users.c.username == username)
        ).first()
    return _user(row) if row else None


USER_FIELDS = tuple(c.name for c in users.c)
_BY_ID = Prepared(select(users).where(users.c.id == bindparam("id")))


if User._fields != USER_FIELDS:
    raise ImportError("records.User must list the users table's columns in table order")
_IS_ADMIN = USER_FIELDS.index("is_admin")


def user_from_values(values: tuple | list) -> User:
    """A ``User`` from a row of ``select(users)``'s columns, in table order (positional: the
    hot paths build one per request, and keyword arguments through a dict cost twice as much)."""
    if len(values) != len(USER_FIELDS):
        raise ValueError(f"a users row has {len(USER_FIELDS)} columns, not {len(values)}")
    row = list(values)
    row[_IS_ADMIN] = bool(row[_IS_ADMIN])
    return User(*row)


def get_user_by_id(db: Database, user_id: int) -> User | None:
    """On every token grant: a prepared statement on a driver connection."""
    with db.driver() as conn:
        row = _BY_ID.fetch_one(db, conn, id=user_id)
    return user_from_values(row) if row else None


def list_users(db: Database, tenant_id: int | None = None) -> list[User]:
    query = (
        select(users)
        .where(users.c.username != SERVICE_USERNAME)  # the built-in clients' owner is no person
        .order_by(users.c.tenant_id, users.c.username)
    )
    if tenant_id is not None:
        query = query.where(users.c.tenant_id == tenant_id)
    with db.read() as conn:
        return [_user(r) for r in conn.execute(query)]


def set_password(db: Database, user_id: int, password_hash: str) -> None:
    with db.write() as conn:
        conn.execute(update(users).where(users.c.id == user_id).values(password_hash=password_hash))


def upgrade_password_hash(db: Database, user_id: int, old_hash: str, new_hash: str) -> bool:
    """Replace the hash only if it is still ``old_hash`` (a concurrent password change wins)."""
    with db.write() as conn:
        result = conn.execute(
            update(users)
            .where(users.c.id == user_id, users.c.password_hash == old_hash)
            .values(password_hash=new_hash)
        )
        return result.rowcount == 1


def set_disabled(db: Database, user_id: int, disabled: bool) -> int:
    """Disable (ending their browser sessions and revoking every token of the user and of
    their clients) or enable a user; returns how many tokens were revoked."""
    t = now()
    with db.write() as conn:
        conn.execute(
            update(users).where(users.c.id == user_id).values(disabled_at=t if disabled else None)
        )
        if not disabled:
            return 0
        conn.execute(
            update(browser_sessions)
            .where(browser_sessions.c.user_id == user_id, browser_sessions.c.ended_at.is_(None))
            .values(ended_at=t)
        )
        own_clients = select(clients.c.id).where(clients.c.user_id == user_id)
        return conn.execute(
            update(tokens)
            .where(
                (tokens.c.user_id == user_id) | tokens.c.client_id.in_(own_clients),
                tokens.c.revoked_at.is_(None),
            )
            .values(revoked_at=t)
        ).rowcount


def remove_user(db: Database, user_id: int) -> int:
    """Delete a user with their clients and tokens; returns how many tokens were removed."""
    with db.write() as conn:
        own_clients = select(clients.c.id).where(clients.c.user_id == user_id)
        removed = conn.execute(
            delete(tokens).where(
                (tokens.c.user_id == user_id) | tokens.c.client_id.in_(own_clients)
            )
        ).rowcount
        conn.execute(delete(subscriptions).where(subscriptions.c.client_id.in_(own_clients)))
        conn.execute(delete(clients).where(clients.c.user_id == user_id))
        conn.execute(delete(users).where(users.c.id == user_id))
    return removed


# Users whose password lives elsewhere (an LDAP directory, an upstream provider) still need a
# row for their clients and tokens. Their password_hash is one of these markers: not a PHC
# string, so no password ever verifies against it locally.
LDAP_MARKER = "!ldap"
UPSTREAM_MARKER = "!upstream"
EXTERNAL_MARKERS = (LDAP_MARKER, UPSTREAM_MARKER)


def has_local_password(user: User) -> bool:
    return user.password_hash not in EXTERNAL_MARKERS


def refresh_profile(db: Database, user: User, email: str, first_name: str, last_name: str) -> User:
    """Store the profile the identity backend just returned, when it changed."""
    fresh = {"email": email, "first_name": first_name, "last_name": last_name}
    if all(getattr(user, k) == v for k, v in fresh.items()):
        return user
    with db.write() as conn:
        conn.execute(update(users).where(users.c.id == user.id).values(**fresh))
    return User(**{**user.__dict__, **fresh})
