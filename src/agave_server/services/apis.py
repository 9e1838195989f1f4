"""A tenant's API catalogue as the operator changes it (``agave-server apis``, the portal's
admin page): list, add, update with the gateway's backend, remove. Each failure names the
value and what is allowed; nothing is half-written."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ..errors import AgaveError, BadRequest, NotFound
from ..storage import Database
from ..storage import apis as store
from ..storage.records import Api, Tenant
from . import validation

# Paths the tenant server answers itself (exact = the path only; prefix = it and below).
TENANT_EXACT = ("/token", "/revoke", "/login", "/logout", "/device", "/apim/v2/publickey")
TENANT_PREFIX = (
    "/clients/v2",
    "/profiles/v2",
    "/tenants",
    "/.well-known/",
    "/oauth2/",
    "/login/",
    "/device/",
    "/portal/",
)
_HOST_PORT = re.compile(r"(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})")


_CONTEXT = re.compile(r"/[A-Za-z0-9._~/-]*")


def tenant_path_clash(context: str) -> str | None:
    """The tenant server's own path an API context would overlap, if any."""
    for path in TENANT_EXACT + TENANT_PREFIX:
        base = path.rstrip("/")
        if context == base or context.startswith(base + "/") or base.startswith(context + "/"):
            return path
    return None


@dataclass(frozen=True)
class Backend:
    scheme: str
    address: str  # host:port

    @classmethod
    def parse(cls, url: str) -> Backend:
        """An API's backend: ``http(s)://host[:port]`` (it gets the caller's path unchanged)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BadRequest(
                f"Invalid backend URL {url[:80]!r}: expected http://HOST[:PORT] or https://...",
                field="backend",
            )
        if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username:
            raise BadRequest(
                f"Invalid backend URL {url[:80]!r}: give only scheme, host and port; the "
                "backend receives the caller's path as it is (e.g. /jobs/v2/...).",
                field="backend",
            )
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise BadRequest(
                f"Invalid port in backend URL {url[:80]!r}.", field="backend"
            ) from None
        host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
        return cls(parts.scheme, f"{host}:{port}")


def check_context(context: str) -> str:
    """A context an API can have behind the gateway: a plain absolute path, no dot segments."""
    segments = context.split("/")[1:]
    if (
        not _CONTEXT.fullmatch(context)
        or context == "/"
        or "//" in context
        or context.endswith("/")
        or any(s in (".", "..") for s in segments)
    ):
        raise BadRequest(
            f"Invalid context {context[:80]!r}: expected an absolute path such as /jobs/v2 "
            "(letters, digits, . _ ~ - and /, no trailing slash).",
            field="context",
        )
    return context


def _backend(url: str | None) -> str:
    """'' (no backend) or a checked ``scheme://host:port`` URL, kept as the operator wrote it."""
    if not url:
        return ""
    Backend.parse(url)
    return url.strip().rstrip("/")


def _check_names(name: str, version: str, provider: str) -> None:
    for field, value in (("API name", name), ("version", version), ("provider", provider)):
        if not validation.API_NAME_RE.fullmatch(value):
            raise AgaveError(
                f"invalid {field} {value!r}: use A-Z a-z 0-9 _ . - (1 to 64)", field=field
            )


def _check_context_free(db: Database, tenant: Tenant, context: str, api_id: int | None) -> None:
    """A context behind the gateway is nobody else's: not the tenant server's, not another's."""
    clash = tenant_path_clash(context)
    if clash:
        raise AgaveError(
            f"the context {context} overlaps the tenant server's own {clash}, which the "
            "gateway sends to the tenant server: give this API another --context",
            field="context",
        )
    for other in store.list_apis(db, tenant.id):
        if other.context == context and other.id != api_id and other.backend_url:
            raise AgaveError(
                f"API {other.name} {other.version} already serves the context {context} "
                "behind the gateway: choose another --context.",
                field="context",
            )


def add(
    db: Database,
    tenant: Tenant,
    name: str,
    version: str,
    provider: str,
    context: str | None,
    is_default: bool,
    backend: str | None,
) -> Api:
    _check_names(name, version, provider)
    context = check_context(context or f"/{name.lower()}/{version}")
    backend_url = _backend(backend)
    if backend_url:
        _check_context_free(db, tenant, context, None)
    try:
        return store.add_api(
            db, tenant.id, name, version, provider, context, is_default, backend_url
        )
    except store.DuplicateApi:
        raise AgaveError(
            f"API {name} {version} by {provider} already exists: use `agave-server apis update`.",
            field="API name",
        ) from None


def update(
    db: Database,
    tenant: Tenant,
    name: str,
    version: str,
    provider: str,
    context: str | None,
    backend: str | None,
    is_default: bool | None,
) -> Api:
    found = [
        a
        for a in store.list_apis(db, tenant.id)
        if (a.name, a.version, a.provider) == (name, version, provider)
    ]
    if not found:
        raise NotFound(f"no API {name} {version} by {provider} in {tenant.code}")
    api = found[0]
    changes: dict[str, object] = {}
    if context is not None:
        changes["context"] = check_context(context)
    if backend is not None:
        changes["backend_url"] = _backend(backend)
    if is_default is not None:
        changes["is_default"] = is_default
    if not changes:
        raise AgaveError("nothing to change: give --context, --backend or --default/--no-default")
    new_context = str(changes.get("context", api.context))
    if changes.get("backend_url", api.backend_url):
        _check_context_free(db, tenant, new_context, api.id)
    updated = store.update_api(db, tenant.id, api.id, changes)
    if updated is None:
        raise NotFound(f"no API {name} {version} by {provider} in {tenant.code}")
    return updated


def list_apis(db: Database, tenant: Tenant) -> list[Api]:
    return store.list_apis(db, tenant.id)


def by_id(db: Database, tenant: Tenant, api_id: int) -> Api:
    for api in store.list_apis(db, tenant.id):
        if api.id == api_id:
            return api
    raise NotFound(f"no API {api_id} in {tenant.code}")


def set_default(db: Database, tenant: Tenant, api_id: int, is_default: bool) -> Api:
    """Whether new clients are subscribed to this API."""
    api = by_id(db, tenant, api_id)
    return update(db, tenant, api.name, api.version, api.provider, None, None, is_default)


def remove(db: Database, tenant: Tenant, api_id: int) -> Api:
    """Remove the API and every subscription to it."""
    api = by_id(db, tenant, api_id)
    if not store.remove_api(db, tenant.id, api.name, api.version, api.provider):
        raise NotFound(f"no API {api.name} {api.version} by {api.provider} in {tenant.code}")
    return api
