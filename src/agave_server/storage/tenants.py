"""Tenants and the per-process host -> tenant cache used to route every request."""

from __future__ import annotations

import threading
import time
import uuid
from urllib.parse import urlsplit

from sqlalchemy import Connection, delete, insert, select, update

from ..models import tenants
from .database import Database, now
from .records import Tenant

_DEFAULT_PORTS = {"http": 80, "https": 443}
_DEFAULT_PORT_SUFFIXES = {scheme: f":{port}" for scheme, port in _DEFAULT_PORTS.items()}


def host_key(base_url: str) -> str:
    """``host[:port]`` of a base URL, lower-case, default ports dropped: what ``Host`` carries."""
    parts = urlsplit(base_url)
    host = (parts.hostname or "").lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = parts.port
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme):
        return host
    return f"{host}:{port}"


def request_host_key(host_header: str, scheme: str) -> str:
    """Normalise a request's ``Host`` header the same way as ``host_key``."""
    value = host_header.strip().lower()
    suffix = _DEFAULT_PORT_SUFFIXES.get(scheme)  # every hot request asks: no f-strings
    if suffix and value.endswith(suffix):
        value = value[: -len(suffix)]
    return value


def _tenant(row) -> Tenant:
    return Tenant(**dict(row._mapping))


def list_tenants(db: Database) -> list[Tenant]:
    """Every tenant, oldest first (the oldest is the default for unknown hosts)."""
    with db.read() as conn:
        rows = conn.execute(select(tenants).order_by(tenants.c.id)).all()
    return [_tenant(r) for r in rows]


def get_tenant(db: Database, code: str) -> Tenant | None:
    with db.read() as conn:
        row = conn.execute(select(tenants).where(tenants.c.code == code)).first()
    return _tenant(row) if row else None


def add_tenant_in(
    conn: Connection,
    code: str,
    name: str,
    base_url: str,
    contact_name: str = "",
    contact_email: str = "",
    contact_url: str = "",
) -> Tenant:
    """Insert a tenant inside the caller's transaction."""
    values = {
        "uuid": str(uuid.uuid4()),
        "code": code,
        "name": name,
        "base_url": base_url,
        "host": host_key(base_url),
        "contact_name": contact_name,
        "contact_email": contact_email,
        "contact_url": contact_url,
        "created_at": now(),
        "access_token_format": "opaque",
    }
    new_id = conn.execute(insert(tenants).values(**values)).inserted_primary_key[0]
    return Tenant(id=new_id, **values)


def update_tenant(db: Database, tenant_id: int, **values: object) -> None:
    """Change columns of one tenant (operator commands; processes see it within their TTL)."""
    with db.write() as conn:
        conn.execute(update(tenants).where(tenants.c.id == tenant_id).values(**values))


def remove_tenant(db: Database, code: str) -> bool:
    """Delete a tenant and (by cascade) its users, clients, tokens and APIs."""
    from ..models import apis, clients, signing_keys, subscriptions, tokens, users

    with db.write() as conn:
        row = conn.execute(select(tenants.c.id).where(tenants.c.code == code)).first()
        if row is None:
            return False
        tid = row.id
        client_ids = select(clients.c.id).where(clients.c.tenant_id == tid)
        conn.execute(delete(tokens).where(tokens.c.tenant_id == tid))
        conn.execute(delete(subscriptions).where(subscriptions.c.client_id.in_(client_ids)))
        conn.execute(delete(clients).where(clients.c.tenant_id == tid))
        conn.execute(delete(users).where(users.c.tenant_id == tid))
        conn.execute(delete(apis).where(apis.c.tenant_id == tid))
        conn.execute(delete(signing_keys).where(signing_keys.c.tenant_id == tid))
        conn.execute(delete(tenants).where(tenants.c.id == tid))
    return True


class TenantDirectory:
    """Maps request hosts to tenants with a short-lived per-process cache.

    Safe across processes because tenants change only by operator command: a host the cache
    does not know triggers a reload at once (so a new tenant is routable immediately), and any
    other change is seen within ``ttl`` seconds. A removed tenant's rows are gone, so a stale
    entry can only produce 401/404 answers, never access.
    """

    def __init__(self, db: Database, ttl: float) -> None:
        self._db = db
        self._ttl = ttl
        self._lock = threading.Lock()
        self._loaded_at = -1e9
        self._by_host: dict[str, Tenant] = {}
        self._by_code: dict[str, Tenant] = {}
        self._default: Tenant | None = None

    def _reload(self) -> None:
        all_tenants = list_tenants(self._db)
        by_host: dict[str, Tenant] = {}
        for t in all_tenants:
            by_host.setdefault(t.host, t)
        with self._lock:
            self._by_host = by_host
            self._by_code = {t.code: t for t in all_tenants}
            self._default = all_tenants[0] if all_tenants else None
            self._loaded_at = time.monotonic()

    def _fresh(self) -> bool:
        return time.monotonic() - self._loaded_at < self._ttl

    def for_host(self, host: str) -> Tenant | None:
        """The tenant whose base URL has this host, else the default (oldest) tenant."""
        if not self._fresh():
            self._reload()
        tenant = self._by_host.get(host)
        if tenant is None and self._loaded_at < time.monotonic() - 0.2:
            self._reload()
            tenant = self._by_host.get(host)
        return tenant or self._default

    def by_code_cached(self, code: str) -> Tenant | None:
        """By code from the cache (hot paths); an unknown code reloads, as ``for_host`` does."""
        if not self._fresh():
            self._reload()
        tenant = self._by_code.get(code)
        if tenant is None and self._loaded_at < time.monotonic() - 0.2:
            self._reload()
            tenant = self._by_code.get(code)
        return tenant

    def all(self) -> list[Tenant]:
        self._reload()
        return list(self._by_code.values())

    def by_code(self, code: str) -> Tenant | None:
        self._reload()
        return self._by_code.get(code)
