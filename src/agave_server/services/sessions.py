"""A client's live sessions (refresh-token families), for its owner: list and revoke.

The portal's client page shows them; revoking one ends that sign-in on every device that
holds its tokens, at once, in every process (it is a row update, checked on every request).
"""

from __future__ import annotations

from ..errors import NotFound
from ..storage import Database
from ..storage import tokens as token_store
from ..storage.records import Client, SessionFamily, User
from . import clients


def live(db: Database, owner: User, client_name: str) -> tuple[Client, list[SessionFamily]]:
    client = clients.get(db, owner, client_name)
    return client, token_store.client_sessions(db, client.id)


def revoke(db: Database, owner: User, client_name: str, family_id: str) -> int:
    """Revoke one session of the owner's client; 404 when the client has no such session."""
    client = clients.get(db, owner, client_name)
    revoked = token_store.revoke_client_family(db, client.id, family_id[:64])
    if not revoked:
        raise NotFound(f"Client {client.name} has no live session {family_id[:64]}.")
    return revoked
