"""Per-tenant identity settings and upstream OpenID Connect providers (revision 0005)."""

from __future__ import annotations

import json

from sqlalchemy import delete, insert, select, update

from ..models import tenant_identity, upstream_providers
from .database import Database, now
from .records import IdentitySettings, Upstream


def get_settings(db: Database, tenant_id: int) -> IdentitySettings:
    """The tenant's settings; a tenant nobody configured signs in with local passwords."""
    with db.read() as conn:
        row = conn.execute(
            select(tenant_identity).where(tenant_identity.c.tenant_id == tenant_id)
        ).first()
    if row is None:
        return IdentitySettings(tenant_id=tenant_id)
    return IdentitySettings(
        tenant_id=tenant_id,
        local_login=bool(row.local_login),
        ldap=json.loads(row.ldap) if row.ldap else None,
    )


def save_settings(db: Database, settings: IdentitySettings) -> None:
    values = {
        "local_login": settings.local_login,
        "ldap": json.dumps(settings.ldap, sort_keys=True) if settings.ldap else "",
        "updated_at": now(),
    }
    with db.write() as conn:
        changed = conn.execute(
            update(tenant_identity)
            .where(tenant_identity.c.tenant_id == settings.tenant_id)
            .values(**values)
        ).rowcount
        if not changed:
            conn.execute(insert(tenant_identity).values(tenant_id=settings.tenant_id, **values))


def _upstream(row) -> Upstream:
    fields = dict(row._mapping)
    domains = fields.pop("email_domains")
    return Upstream(**fields, email_domains=tuple(d for d in domains.split(",") if d))


def list_upstreams(db: Database, tenant_id: int) -> list[Upstream]:
    with db.read() as conn:
        rows = conn.execute(
            select(upstream_providers)
            .where(upstream_providers.c.tenant_id == tenant_id)
            .order_by(upstream_providers.c.name)
        ).all()
    return [_upstream(r) for r in rows]


def get_upstream(db: Database, tenant_id: int, name: str) -> Upstream | None:
    with db.read() as conn:
        row = conn.execute(
            select(upstream_providers).where(
                upstream_providers.c.tenant_id == tenant_id, upstream_providers.c.name == name
            )
        ).first()
    return _upstream(row) if row else None


def get_upstream_by_id(db: Database, upstream_id: int) -> Upstream | None:
    with db.read() as conn:
        row = conn.execute(
            select(upstream_providers).where(upstream_providers.c.id == upstream_id)
        ).first()
    return _upstream(row) if row else None


def put_upstream(
    db: Database,
    tenant_id: int,
    name: str,
    *,
    issuer: str,
    client_id: str,
    client_secret: str,
    username_claim: str,
    scope: str,
    email_domains: tuple[str, ...],
) -> Upstream:
    """Add the upstream, or replace the settings of the one with this name."""
    values = {
        "issuer": issuer,
        "client_id": client_id,
        "client_secret": client_secret,
        "username_claim": username_claim,
        "scope": scope,
        "email_domains": ",".join(email_domains),
    }
    with db.write() as conn:
        where = (upstream_providers.c.tenant_id == tenant_id) & (upstream_providers.c.name == name)
        if not conn.execute(update(upstream_providers).where(where).values(**values)).rowcount:
            conn.execute(
                insert(upstream_providers).values(
                    tenant_id=tenant_id, name=name, created_at=now(), **values
                )
            )
        row = conn.execute(select(upstream_providers).where(where)).one()
    return _upstream(row)


def remove_upstream(db: Database, tenant_id: int, name: str) -> bool:
    with db.write() as conn:
        return bool(
            conn.execute(
                delete(upstream_providers).where(
                    upstream_providers.c.tenant_id == tenant_id,
                    upstream_providers.c.name == name,
                )
            ).rowcount
        )


def ldap_tenants(db: Database) -> list[IdentitySettings]:
    """The settings of every tenant that has an LDAP directory (for readiness checks)."""
    with db.read() as conn:
        rows = conn.execute(
            select(tenant_identity)
            .where(tenant_identity.c.ldap != "")
            .order_by(tenant_identity.c.tenant_id)
        ).all()
    return [
        IdentitySettings(r.tenant_id, local_login=bool(r.local_login), ldap=json.loads(r.ldap))
        for r in rows
    ]
