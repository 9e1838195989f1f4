"""Introspection's one read: the authenticating client (with its owner and failed-login
counters) and the pair of the opaque access token it asks about.

Introspection is client authentication followed by a token look-up. Read apart, they are two
statements of about the same cost (each with its own read transaction on SQLite); read
together, one. The token's columns are outer-joined, so an unknown token still
authenticates the client (and then is ``{"active": false}``). Only the access-token column is
tried here: a refresh token, or a digest found in neither, goes on to ``tokens.find_pair``
for the other column. Nothing read here is answered before the client is authenticated.
"""

from __future__ import annotations

from typing import NamedTuple

from sqlalchemy import and_, bindparam

from ..models import clients, tokens, users
from . import clients as client_store
from .database import Database, Prepared
from .lookups import BatchedStatement
from .tokens import ACCESS, PAIR_COLUMNS, FoundPair, pair_from

_pair = tokens.alias("pair")
_pair_client = clients.alias("pair_client")
_pair_user = users.alias("pair_user")
_CLIENT_AND_PAIR = Prepared(
    client_store.FOR_AUTH.add_columns(
        *(_pair.c[c.name] for c in PAIR_COLUMNS),
        _pair_client.c.consumer_key,
        _pair_user.c.username,
    )
    .outerjoin(
        _pair,
        and_(
            _pair.c.access_digest == bindparam("digest"),
            _pair.c.tenant_id == clients.c.tenant_id,
        ),
    )
    .outerjoin(_pair_client, _pair_client.c.id == _pair.c.client_id)
    .outerjoin(_pair_user, _pair_user.c.id == _pair.c.user_id)
)
CLIENT_AND_PAIR_AHEAD = BatchedStatement(  # read ahead from the event loop (storage.lookups)
    _CLIENT_AND_PAIR,
    {"key": "text", "tenant_id": "integer", "first": "text", "second": "text", "digest": "text"},
)
_WIDTH = client_store.FOR_AUTH_WIDTH


class ClientAndPair(NamedTuple):
    """The client as ``clients.get_client_for_auth`` finds it, and the access token's pair
    (None when no live client or user holds a token with that digest in the tenant)."""

    client: client_store.ClientForAuth
    pair: FoundPair | None


def client_and_access_pair(
    db: Database,
    tenant_id: int,
    consumer_key: str,
    failure_keys: tuple[str, str | None],
    access_digest: str,
) -> ClientAndPair | None:
    """``get_client_for_auth`` and ``find_pair`` (access column) in one statement; None for an
    unknown consumer key, as ``get_client_for_auth``."""
    first, second = failure_keys
    with db.driver() as conn:
        row = _CLIENT_AND_PAIR.fetch_one(
            db,
            conn,
            key=consumer_key,
            tenant_id=tenant_id,
            first=first,
            second=second,
            digest=access_digest,
        )
    if row is None:
        return None
    pair_values = row[_WIDTH:]
    found = pair_from(pair_values, ACCESS) if pair_values[-1] is not None else None
    return ClientAndPair(client_store.client_for_auth_from(row), found)
