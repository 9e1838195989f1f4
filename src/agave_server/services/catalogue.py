"""A tenant's API catalogue as its administrators change it (portal; the CLI's ``apis``).

Every value is checked as the clients API checks it: a bad one is a 400 naming the field.
"""

from __future__ import annotations

from collections.abc import Mapping

from ..errors import BadRequest, Conflict, NotFound
from ..storage import Database
from ..storage import apis as store
from ..storage.records import Api, Tenant
from . import validation

MAX_CONTEXT = 255


def list_apis(db: Database, tenant: Tenant) -> list[Api]:
    return store.list_apis(db, tenant.id)


def _required(params: Mapping[str, str], field: str, default: str = "") -> str:
    value = (params.get(field) or default).strip()
    if not value:
        raise BadRequest(f"Missing required field '{field}'.")
    if not validation.API_NAME_RE.fullmatch(value):
        raise BadRequest(
            f"Invalid {field} {value[:40]!r}: use 1 to 64 characters from A-Z a-z 0-9 _ . -"
        )
    return value


def context_path(value: str, name: str, version: str) -> str:
    """The API's path on the tenant, ``/<lower-case name>/<version>`` by default."""
    context = value.strip() or f"/{name.lower()}/{version}"
    segments = context[1:].split("/")
    if (
        not context.startswith("/")
        or len(context) > MAX_CONTEXT
        or not all(part and validation.API_NAME_RE.fullmatch(part) for part in segments)
    ):
        raise BadRequest(
            f"Invalid context {context[:60]!r}: a path such as /jobs/v2, each segment 1 to 64 "
            "characters from A-Z a-z 0-9 _ . -"
        )
    return context


def add(db: Database, tenant: Tenant, params: Mapping[str, str]) -> Api:
    name = _required(params, "name")
    version = _required(params, "version", "v2")
    provider = _required(params, "provider", "admin")
    context = context_path(params.get("context", ""), name, version)
    try:
        return store.add_api(
            db, tenant.id, name, version, provider, context, params.get("default") == "1"
        )
    except store.DuplicateApi:
        raise Conflict(f"API {name} {version} by {provider} already exists.") from None


def _find(db: Database, tenant: Tenant, api_id: int) -> Api:
    for api in store.list_apis(db, tenant.id):
        if api.id == api_id:
            return api
    raise NotFound(f"No API {api_id} in tenant {tenant.code}.")


def set_default(db: Database, tenant: Tenant, api_id: int, is_default: bool) -> Api:
    """Whether new clients are subscribed to this API."""
    api = _find(db, tenant, api_id)
    store.set_default(db, api.id, is_default)
    return api


def remove(db: Database, tenant: Tenant, api_id: int) -> Api:
    """Remove the API and every subscription to it."""
    api = _find(db, tenant, api_id)
    store.remove_api(db, tenant.id, api.name, api.version, api.provider)
    return api
