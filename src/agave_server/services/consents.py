"""The consents a user gave clients on the consent page, as the user sees and withdraws them."""

from __future__ import annotations

from dataclasses import dataclass

from ..storage import Database
from ..storage import consents as store
from ..storage.records import User


@dataclass(frozen=True)
class Consent:
    client_name: str
    consumer_key: str
    owner: str
    scope: str
    granted_at: int


def of_user(db: Database, user: User) -> list[Consent]:
    return [Consent(*row) for row in store.list_for_user(db, user.id)]


def withdraw(db: Database, user: User, consumer_key: str) -> str | None:
    """Forget the user's consent for the client with this key; its name, or None."""
    for consent in of_user(db, user):
        if consent.consumer_key == consumer_key:
            client_id = store.client_id_of_key(db, consumer_key)
            if client_id is not None and store.forget(db, user.id, client_id):
                return consent.client_name
    return None
