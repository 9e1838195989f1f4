"""Tenants (operator commands): creation seeds the default API catalogue."""

from __future__ import annotations

from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError

from ..errors import BadRequest, Conflict, NotFound
from ..oauth.keys import KeyRing
from ..storage import Database, builtin_clients
from ..storage import apis as api_store
from ..storage import tenants as store
from ..storage.records import Tenant
from . import validation


def normalise_base_url(url: str) -> str:
    """An absolute http(s) URL at a host's root, with the trailing slash clients expect."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"Invalid base URL {url!r}: expected http(s)://HOST[:PORT]/")
    try:
        parts.port  # noqa: B018 - raises on a bad port
    except ValueError:
        raise BadRequest(f"Invalid base URL {url!r}: the port is not a number 1-65535") from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise BadRequest(
            f"Invalid base URL {url!r}: a tenant lives at a host's root "
            "(clients append /clients/v2 and /token to it), so no path is allowed"
        )
    return f"{parts.scheme}://{parts.netloc}/"


def add(
    db: Database,
    code: str,
    name: str,
    base_url: str,
    contact_name: str = "",
    contact_email: str = "",
    contact_url: str = "",
    keys: KeyRing | None = None,
) -> Tenant:
    """Add a tenant with its default API catalogue and (given ``keys``) its first signing
    key, in one transaction. Without ``keys`` the first key is made when first needed."""
    validation.tenant_code(code)
    validation.text(name, "name", 255)
    if not name:
        raise BadRequest("The tenant name is empty.")
    url = normalise_base_url(base_url)
    try:
        with db.write() as conn:
            tenant = store.add_tenant_in(
                conn, code, name, url, contact_name, contact_email, contact_url
            )
            api_store.seed_default_apis(conn, tenant.id)
            builtin_clients.create_in(conn, tenant.id)
            if keys is not None:
                keys.create_first(conn, tenant)
    except IntegrityError:
        raise Conflict(f"Tenant {code} already exists.") from None
    return tenant


ACCESS_TOKEN_FORMATS = ("opaque", "jwt")


def set_access_token_format(db: Database, tenant: Tenant, token_format: str) -> Tenant:
    """Choose what the tenant's access tokens look like from now on (issued ones keep working)."""
    if token_format not in ACCESS_TOKEN_FORMATS:
        raise BadRequest(
            f"Invalid access token format {token_format!r}: "
            f"use {' or '.join(ACCESS_TOKEN_FORMATS)}."
        )
    store.update_tenant(db, tenant.id, access_token_format=token_format)
    return require(db, tenant.code)


def require(db: Database, code: str) -> Tenant:
    tenant = store.get_tenant(db, code)
    if tenant is None:
        known = ", ".join(t.code for t in store.list_tenants(db)) or "none yet"
        raise NotFound(f"No tenant {code} (known tenants: {known}).")
    return tenant
