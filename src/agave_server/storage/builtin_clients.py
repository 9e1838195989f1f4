"""The built-in public client of each tenant (``agave-cli``) and the service account owning it.

Every client row needs an owner, and consumer keys are unique across tenants; the built-in
client is the tenant's, not a user's, and its public id ``agave-cli`` is the same on every
tenant. So each tenant has one service account (a user row whose name no person can have:
it fails the username rule, has no usable password hash and is hidden from user lists), and
the client row is stored under a per-tenant key (``agave-cli.<tenant uuid>``) that only this
module maps to and from the public id. Nobody can authenticate as the service account, so
its clients are never listed, shown or deleted through ``/clients/v2``.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from ..models import apis, clients, subscriptions, tenants, users
from .database import Database, now
from .records import Client, User
from .users import SERVICE_USERNAME, user_from_values

#: The client id the command line sends (``client_id=agave-cli``), on every tenant.
CLI_CLIENT_ID = "agave-cli"
#: Never a SHA-256 hex digest, so no presented secret can match it.
NO_SECRET = "!"
TIER = "Unlimited"


def stored_key(tenant_uuid: str) -> str:
    """The consumer key the built-in CLI client is stored under for one tenant."""
    return f"{CLI_CLIENT_ID}.{tenant_uuid}"


def create_in(conn: Connection, tenant_id: int) -> None:
    """Create the tenant's service account and CLI client, subscribed to every API.

    Called in the transaction that creates the tenant (after its API catalogue), and by
    migration 0007 for tenants that existed before.
    """
    tenant_uuid = conn.execute(select(tenants.c.uuid).where(tenants.c.id == tenant_id)).scalar_one()
    t = now()
    owner_id = conn.execute(
        insert(users).values(
            tenant_id=tenant_id,
            username=SERVICE_USERNAME,
            password_hash=NO_SECRET,
            is_admin=False,
            created_at=t,
        )
    ).inserted_primary_key[0]
    client_id = conn.execute(
        insert(clients).values(
            tenant_id=tenant_id,
            user_id=owner_id,
            name=CLI_CLIENT_ID,
            description="The agave command line (built in: device and browser login)",
            consumer_key=stored_key(tenant_uuid),
            secret_digest=NO_SECRET,
            tier=TIER,
            callback_url="http://127.0.0.1/callback",
            created_at=t,
        )
    ).inserted_primary_key[0]
    api_ids = [r.id for r in conn.execute(select(apis.c.id).where(apis.c.tenant_id == tenant_id))]
    if api_ids:
        conn.execute(
            insert(subscriptions),
            [{"client_id": client_id, "api_id": a, "tier": TIER, "created_at": t} for a in api_ids],
        )


def subscribe_to_new_api(conn: Connection, tenant_id: int, api_id: int) -> None:
    """Keep the built-in clients subscribed to the whole catalogue when an API is added."""
    builtin = select(clients.c.id).join(users, users.c.id == clients.c.user_id)
    rows = conn.execute(
        builtin.where(clients.c.tenant_id == tenant_id, users.c.username == SERVICE_USERNAME)
    ).all()
    t = now()
    if rows:
        conn.execute(
            insert(subscriptions),
            [{"client_id": r.id, "api_id": api_id, "tier": TIER, "created_at": t} for r in rows],
        )


_CLIENT_FIELDS = tuple(c.name for c in clients.c)


def get_cli_client(db: Database, tenant_id: int) -> tuple[Client, User] | None:
    """The tenant's built-in CLI client and its owner (None on a tenant without one)."""
    query = (
        select(clients, users)
        .join(users, users.c.id == clients.c.user_id)
        .join(tenants, tenants.c.id == clients.c.tenant_id)
        .where(
            clients.c.tenant_id == tenant_id,
            users.c.username == SERVICE_USERNAME,
            clients.c.name == CLI_CLIENT_ID,
        )
    )
    with db.read() as conn:
        row = conn.execute(query).first()
    if row is None:
        return None
    n = len(_CLIENT_FIELDS)
    values = tuple(row)
    return Client(**dict(zip(_CLIENT_FIELDS, values[:n], strict=True))), user_from_values(
        values[n:]
    )


_ROW_IDS: dict[tuple[int, str], int] = {}


def cli_client_row_id(db: Database, tenant_id: int, tenant_uuid: str) -> int | None:
    """The row id of the tenant's CLI client (cached: it never changes for a tenant)."""
    key = (tenant_id, tenant_uuid)
    if key not in _ROW_IDS:
        found = get_cli_client(db, tenant_id)
        if found is None:
            return None
        _ROW_IDS[key] = found[0].id
    return _ROW_IDS[key]


def is_builtin(client: Client, owner: User) -> bool:
    """True for a tenant's built-in client (owned by the service account)."""
    return owner.username == SERVICE_USERNAME
