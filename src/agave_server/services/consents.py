"""When a user must be asked before a client gets an authorization, remembering the answer,
and the consents a user gave, as the portal's account page lists and withdraws them.

A consent is remembered (per user, client and scopes) only where the redirect is bound to
the client: a confidential client with an exact, non-loopback redirect URI. A loopback
redirect can be opened by any program on the user's machine, and a public client proves
nothing about who is asking, so those (and device approvals) always ask.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..storage import Database
from ..storage import consents as store
from ..storage.records import User


@dataclass(frozen=True)
class Consent:
    """A remembered consent as its user sees it."""

    client_name: str
    consumer_key: str
    owner: str
    scope: str
    granted_at: int


def may_remember(confidential: bool, exact_redirect: bool, loopback_redirect: bool) -> bool:
    """Whether a consent may be remembered: a confidential client whose redirect URI is its
    registered one exactly (not by the loopback any-port rule) and not a loopback address."""
    return confidential and exact_redirect and not loopback_redirect


def already_given(db: Database, user_id: int, client_id: int, scopes: set[str]) -> bool:
    """Whether the user allowed this client every scope asked for."""
    return scopes <= store.granted_scope(db, user_id, client_id)


def remember(db: Database, user_id: int, client_id: int, scopes: set[str]) -> None:
    store.remember(db, user_id, client_id, scopes)


def withdraw(db: Database, user_id: int, client_id: int) -> bool:
    """Forget the user's consent to this client (the next authorization asks again)."""
    return store.forget(db, user_id, client_id)


def of_user(db: Database, user: User) -> list[Consent]:
    """The user's remembered consents, newest first."""
    return [Consent(*row) for row in store.list_for_user(db, user.id)]


def withdraw_for_key(db: Database, user: User, consumer_key: str) -> str | None:
    """Forget the user's consent for the client with this key; the client's name, or None
    when the user gave that client no consent."""
    for consent in of_user(db, user):
        if consent.consumer_key == consumer_key:
            client_id = store.client_id_of_key(db, consumer_key)
            if client_id is not None and withdraw(db, user.id, client_id):
                return consent.client_name
    return None
