"""OAuth clients of a user and their API subscriptions.

A user only ever sees their own clients: someone else's client name answers 404, exactly as a
name that does not exist, so names do not leak.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ..errors import BadRequest, Conflict, NotFound
from ..security import digest, new_consumer_key, new_secret
from ..storage import Database
from ..storage import apis as api_store
from ..storage import clients as store
from ..storage.records import Api, Client, Subscription, Tenant, User
from . import validation


@dataclass(frozen=True)
class NewClient:
    """A created client and its secret, which exists in clear only in this response."""

    client: Client
    consumer_secret: str


def create(db: Database, tenant: Tenant, owner: User, params: Mapping[str, str]) -> NewClient:
    """Create a client from ``clientName`` (agavepy: ``name``), description, tier, callbackUrl."""
    if params.get("clientName") in (None, "") and params.get("name") not in (None, ""):
        name = validation.client_name(params["name"], "name")
    else:
        name = validation.client_name(params.get("clientName"), "clientName")
    description = validation.text(
        params.get("description"), "description", validation.MAX_DESCRIPTION
    )
    tier = validation.tier(params.get("tier"))
    callback = validation.callback_url(params.get("callbackUrl"))
    secret = new_secret()
    try:
        client = store.create_client(
            db,
            tenant_id=tenant.id,
            user_id=owner.id,
            name=name,
            description=description,
            consumer_key=new_consumer_key(),
            secret_digest=digest(secret),
            tier=tier,
            callback_url=callback,
        )
    except store.DuplicateClient:
        raise Conflict(
            f"Client {name} already exists: choose another clientName.", field="clientName"
        ) from None
    return NewClient(client, secret)


def list_for(db: Database, owner: User, limit: int | None = None, offset: int = 0) -> list[Client]:
    return store.list_clients(db, owner.id, limit, offset)


def get(db: Database, owner: User, name: str) -> Client:
    client = (
        store.get_client(db, owner.id, name) if validation.CLIENT_NAME_RE.fullmatch(name) else None
    )
    if client is None:
        raise NotFound(f"No client named {name} for user {owner.username}.")
    return client


def delete(db: Database, owner: User, name: str) -> None:
    client = get(db, owner, name)
    if not store.delete_client(db, client.id):
        raise NotFound(f"No client named {name} for user {owner.username}.")


# Fields ``PUT /clients/v2/{name}`` may set: wire name -> (column, check of the new value).
_UPDATABLE: dict[str, tuple[str, Callable[[str], str]]] = {
    "description": (
        "description",
        lambda v: validation.text(v, "description", validation.MAX_DESCRIPTION),
    ),
    "callbackUrl": ("callback_url", lambda v: validation.redirect_url(v, "callbackUrl")),
    "tier": ("tier", lambda v: validation.tier(v, required=True)),
    "postLogoutRedirectUri": (
        "post_logout_redirect_uri",
        lambda v: validation.redirect_url(v, "postLogoutRedirectUri"),
    ),
}


def _changes(name: str, params: Mapping[str, str]) -> dict[str, str]:
    """The columns an update sets, every value checked before anything is written."""
    for alias in ("clientName", "name"):
        given = params.get(alias)
        if given not in (None, "", name):
            raise BadRequest(
                f"Field '{alias}' is {given[:64]!r} but the client is {name!r}: clients cannot "
                "be renamed; create a new client instead.",
                field=alias,
            )
    changes = {
        column: check(params[field])
        for field, (column, check) in _UPDATABLE.items()
        if params.get(field) is not None
    }
    if not changes:
        raise BadRequest("Nothing to change: give at least one of " + ", ".join(_UPDATABLE) + ".")
    return changes


def update(db: Database, owner: User, name: str, params: Mapping[str, str]) -> Client:
    """Change a client's description, callbackUrl, tier or postLogoutRedirectUri; fields not
    given are kept.

    Its key, secret, subscriptions and tokens are untouched (a new callbackUrl only affects
    authorization requests made from now on).
    """
    client = get(db, owner, name)
    changed = store.update_client(db, client.id, _changes(name, params))
    if changed is None:
        raise NotFound(f"No client named {name} for user {owner.username}.")
    return changed


def reset_secret(db: Database, owner: User, name: str) -> NewClient:
    """Issue a new consumer secret and end every token of the client (they used the old one).

    The consumer key stays, so configuration that names the client keeps working once the
    new secret is in place; the new secret exists in clear only in the returned value.
    """
    client = get(db, owner, name)
    secret = new_secret()
    secret_digest = digest(secret)
    if store.replace_secret(db, client.id, secret_digest) is None:
        raise NotFound(f"No client named {name} for user {owner.username}.")
    return NewClient(client._replace(secret_digest=secret_digest), secret)


def subscriptions(db: Database, owner: User, name: str) -> tuple[Client, list[Subscription]]:
    client = get(db, owner, name)
    return client, store.list_subscriptions(db, client.id)


def _matching_apis(
    db: Database, tenant: Tenant, params: Mapping[str, str]
) -> tuple[str, list[Api]]:
    api_name = validation.api_field(params.get("apiName"), "apiName")
    if api_name is None:
        raise BadRequest("Missing required field 'apiName' (an API name, or * for every API).")
    version = validation.api_field(params.get("apiVersion"), "apiVersion")
    provider = validation.api_field(params.get("apiProvider"), "apiProvider")
    found = api_store.find_apis(
        db,
        tenant.id,
        api_name,
        None if version == "*" else version,
        None if provider == "*" else provider,
    )
    if not found:
        known = ", ".join(sorted({a.name for a in api_store.list_apis(db, tenant.id)}))
        wanted = (
            api_name + (f" {version}" if version else "") + (f" by {provider}" if provider else "")
        )
        raise BadRequest(f"Unknown API {wanted}: this tenant offers {known or 'no APIs'}.")
    return api_name, found


def subscribe(
    db: Database, tenant: Tenant, owner: User, name: str, params: Mapping[str, str]
) -> tuple[Client, str, list[Subscription]]:
    """Subscribe the client to the API(s) named by ``apiName`` (``*`` = all)."""
    client = get(db, owner, name)
    api_name, found = _matching_apis(db, tenant, params)
    tier = validation.tier(params.get("tier"))
    try:
        added = store.subscribe(db, client.id, found, tier)
    except store.ClientGone:
        raise NotFound(f"No client named {name} for user {owner.username}.") from None
    return client, api_name, added


def unsubscribe(
    db: Database, tenant: Tenant, owner: User, name: str, params: Mapping[str, str]
) -> tuple[Client, str, list[Subscription]]:
    client = get(db, owner, name)
    api_name, found = _matching_apis(db, tenant, params)
    try:
        removed = store.unsubscribe(db, client.id, found)
    except store.ClientGone:
        raise NotFound(f"No client named {name} for user {owner.username}.") from None
    return client, api_name, removed


def set_resource_server(
    db: Database, tenant: Tenant, name: str, owner: str | None, flag: bool
) -> tuple[Client, User]:
    """Mark a client as a resource server (operator command): it may then introspect every
    token of its tenant. Names are unique per owner, so several owners need ``owner``."""
    matches = store.find_in_tenant(db, tenant.id, name)
    if owner is not None:
        matches = [(c, u) for c, u in matches if u.username == owner]
    if not matches:
        whose = f" of {owner}" if owner else ""
        raise NotFound(f"No client {name}{whose} in tenant {tenant.code}.")
    if len(matches) > 1:
        owners = ", ".join(sorted(u.username for _, u in matches))
        raise BadRequest(f"Several users have a client {name} ({owners}): give --owner.")
    client, user = matches[0]
    store.update_client(db, client.id, {"is_resource_server": flag})
    return store.get_client(db, user.id, name) or client, user
