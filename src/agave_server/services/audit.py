"""The audit log: who did what to which tenant, when and from where.

``record`` is the one call every part of the server makes for an action worth auditing:
the operator commands (users, tenants, APIs, purge), token-family revocations, and what
other parts add (consents, secret resets, key rotations, ...). An entry is appended and
never changed. ``detail`` is a small JSON object; text under a key that names a secret
(password, secret, token, ...) is replaced by ``"[redacted]"``, so a careless caller cannot
put a credential into the log.

``actor`` says who: ``cli:<os user>`` for the operator's command line, ``user:<name>``,
``client:<consumer key>`` or ``system``; ``address`` where from: the request's source
address, or ``local`` for the command line.
"""

from __future__ import annotations

import getpass
import json
import re
from collections.abc import Mapping
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection

from ..errors import BadRequest
from ..storage import Database
from ..storage import audit as store
from ..storage.audit import AuditEntry
from ..storage.database import now

LOCAL = "local"
REDACTED = "[redacted]"
_SECRET_KEY = re.compile(r"pass|secret|token|credential|authorization|private|api_?key", re.I)
_DURATION = re.compile(r"(\d+)\s*([smhdw])")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_FIELD = {"actor": 255, "action": 64, "target": 1024, "address": 255}
DEFAULT_LIMIT = 1000


def cli_actor() -> str:
    """``cli:<os user>``: the operator running ``agave-server``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):  # no passwd entry (some containers)
        return "cli:unknown"


def _redacted(detail: Mapping[str, Any] | None) -> str:
    # Text under a secret-sounding key is dropped; numbers and flags (``tokens_revoked: 3``)
    # cannot be a credential and stay.
    clean = {
        str(k): (REDACTED if isinstance(v, str) and _SECRET_KEY.search(str(k)) else v)
        for k, v in (detail or {}).items()
    }
    return json.dumps(clean, sort_keys=True, default=str)


def _in_transaction(db: Database | Connection) -> AbstractContextManager[Connection]:
    """The caller's open transaction, or a new write transaction of our own."""
    if isinstance(db, Connection):
        return nullcontext(db)
    return db.write()


def record(
    db: Database | Connection,
    tenant_id: int | None,
    actor: str,
    action: str,
    target: str = "",
    address: str | None = None,
    detail: Mapping[str, Any] | None = None,
    *,
    tenant_code: str | None = None,
) -> None:
    """Append one entry. ``db`` may be a connection inside the caller's own write transaction
    (the entry then commits or rolls back with the action); ``tenant_code`` is needed only
    when the tenant's row is already gone (its removal)."""
    fields = {"actor": actor, "action": action, "target": target, "address": address or ""}
    values: dict[str, Any] = {k: str(v)[: MAX_FIELD[k]] for k, v in fields.items()}
    with _in_transaction(db) as conn:
        if tenant_code is None:
            tenant_code = store.tenant_code(conn, tenant_id) if tenant_id is not None else ""
        store.append(
            conn,
            {
                **values,
                "tenant_id": tenant_id,
                "tenant_code": tenant_code,
                "at": now(),
                "detail": _redacted(detail),
            },
        )


def parse_since(value: str, at: datetime | None = None) -> int:
    """``30m``, ``2h``, ``7d``, ``1w`` (or ``1d12h``) ago, or an ISO 8601 time (UTC unless it
    says otherwise); Unix seconds."""
    text = value.strip().lower()
    if text and _DURATION.sub("", text).strip() == "":
        seconds = sum(int(n) * _UNITS[unit] for n, unit in _DURATION.findall(text))
        return int(((at or datetime.now(timezone.utc)) - timedelta(seconds=seconds)).timestamp())
    try:
        when = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            f"--since {value[:40]!r}: use a duration such as 30m, 2h, 7d, 1w, "
            "or a time such as 2026-12-01 or 2026-12-01T09:30:00Z"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return int(when.timestamp())


def entries(
    db: Database, tenant_code: str | None, since: int = 0, limit: int = DEFAULT_LIMIT
) -> list[AuditEntry]:
    """A tenant's entries and the server-wide ones (e.g. purges); every entry with None."""
    codes = None if tenant_code is None else (tenant_code, "")
    return store.entries(db, codes, since, limit)


def as_json(entry: AuditEntry) -> dict[str, Any]:
    return {
        "id": entry.id,
        "tenant": entry.tenant_code or None,
        "time": iso_time(entry.at),
        "actor": entry.actor,
        "action": entry.action,
        "target": entry.target,
        "address": entry.address,
        "detail": json.loads(entry.detail or "{}"),
    }


def iso_time(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
