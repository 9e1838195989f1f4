"""A tenant's API catalogue (what clients can subscribe to)."""

from __future__ import annotations

from sqlalchemy import Connection, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from ..models import apis, subscriptions
from .database import Database, now
from .records import Api

DEFAULT_APIS = (
    "Apps",
    "Files",
    "Jobs",
    "Meta",
    "Monitors",
    "Notifications",
    "Postits",
    "Profiles",
    "Systems",
    "Transforms",
    "PublicKeys",
)


class DuplicateApi(Exception):
    """The tenant already has this API (same name, version and provider)."""


def _api(row) -> Api:
    m = row._mapping
    return Api(
        id=m["id"],
        tenant_id=m["tenant_id"],
        name=m["name"],
        version=m["version"],
        provider=m["provider"],
        context=m["context"],
        status=m["status"],
        is_default=bool(m["is_default"]),
    )


def seed_default_apis(conn: Connection, tenant_id: int) -> None:
    """The eleven default APIs, version v2, provider admin, context /<lower name>/v2."""
    conn.execute(
        insert(apis),
        [
            {
                "tenant_id": tenant_id,
                "name": name,
                "version": "v2",
                "provider": "admin",
                "context": f"/{name.lower()}/v2",
                "status": "PUBLISHED",
                "is_default": True,
                "created_at": now(),
            }
            for name in DEFAULT_APIS
        ],
    )


def add_api(
    db: Database,
    tenant_id: int,
    name: str,
    version: str,
    provider: str,
    context: str,
    is_default: bool = False,
) -> Api:
    values = {
        "tenant_id": tenant_id,
        "name": name,
        "version": version,
        "provider": provider,
        "context": context,
        "status": "PUBLISHED",
        "is_default": is_default,
        "created_at": now(),
    }
    try:
        with db.write() as conn:
            new_id = conn.execute(insert(apis).values(**values)).inserted_primary_key[0]
    except IntegrityError:
        raise DuplicateApi(name) from None
    return Api(
        id=new_id,
        tenant_id=tenant_id,
        name=name,
        version=version,
        provider=provider,
        context=context,
        status="PUBLISHED",
        is_default=is_default,
    )


def list_apis(db: Database, tenant_id: int) -> list[Api]:
    with db.read() as conn:
        rows = conn.execute(select(apis).where(apis.c.tenant_id == tenant_id).order_by(apis.c.id))
        return [_api(r) for r in rows]


def find_apis(
    db: Database,
    tenant_id: int,
    name: str,
    version: str | None = None,
    provider: str | None = None,
) -> list[Api]:
    """APIs matching a name (case-insensitive; ``*`` = all) and optional version/provider."""
    query = select(apis).where(apis.c.tenant_id == tenant_id).order_by(apis.c.id)
    if name != "*":
        query = query.where(func.lower(apis.c.name) == name.lower())
    if version:
        query = query.where(func.lower(apis.c.version) == version.lower())
    if provider:
        query = query.where(func.lower(apis.c.provider) == provider.lower())
    with db.read() as conn:
        return [_api(r) for r in conn.execute(query)]


def remove_api(db: Database, tenant_id: int, name: str, version: str, provider: str) -> bool:
    """Delete an API and every subscription to it."""
    with db.write() as conn:
        row = conn.execute(
            select(apis.c.id).where(
                apis.c.tenant_id == tenant_id,
                apis.c.name == name,
                apis.c.version == version,
                apis.c.provider == provider,
            )
        ).first()
        if row is None:
            return False
        conn.execute(delete(subscriptions).where(subscriptions.c.api_id == row.id))
        conn.execute(delete(apis).where(apis.c.id == row.id))
    return True


def set_default(db: Database, api_id: int, is_default: bool) -> bool:
    """Mark an API as one every new client is subscribed to (or not); False if it is gone."""
    with db.write() as conn:
        return (
            conn.execute(
                update(apis).where(apis.c.id == api_id).values(is_default=is_default)
            ).rowcount
            == 1
        )
