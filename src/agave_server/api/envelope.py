"""The Agave response envelope and its query parameters, WSO2 faults, and error bodies.

``pretty=true`` indents; ``naked=true`` returns only ``result``; ``filter=a,b`` keeps those
fields of each result object; ``limit``/``offset`` page list results (defaults 100 / 0).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from .. import __version__, faults
from ..errors import BadRequest

DEFAULT_LIMIT = 100
JSON = "application/json"


def _single(params: Mapping[str, str], name: str) -> str | None:
    """The parameter's value; a parameter given twice is an error, not a guess."""
    getlist = getattr(params, "getlist", None)
    if getlist is not None and len(getlist(name)) > 1:
        raise BadRequest(f"Query parameter '{name}' is given more than once.")
    return params.get(name)


def _flag(params: Mapping[str, str], name: str) -> bool:
    raw = _single(params, name)
    if raw is None:
        return False
    value = raw.strip().lower()
    if value not in ("true", "false"):
        raise BadRequest(f"Invalid {name} {raw[:20]!r}: expected true or false.")
    return value == "true"


def _flag_or_false(params: Mapping[str, str], name: str) -> bool:
    """For error answers: a bad flag must not hide the original error."""
    try:
        return _flag(params, name)
    except BadRequest:
        return False


MAX_PAGING = 2**31 - 1


def _non_negative(params: Mapping[str, str], name: str, default: int) -> int:
    raw = _single(params, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if value < 0:
        raise BadRequest(f"Invalid {name} {raw[:20]!r}: expected a non-negative integer.")
    # Paging happens in SQL: past 64 bits SQLite and PostgreSQL fail (a 500), so say so here.
    if value > MAX_PAGING:
        raise BadRequest(f"Invalid {name} {raw[:20]!r}: expected at most {MAX_PAGING}.")
    return value


# One encoder for every compact body: ``json.dumps`` with options builds a new one per call.
_COMPACT = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False)


def json_bytes(body: Any, pretty: bool = False) -> bytes:
    if pretty:
        return json.dumps(body, indent=2, ensure_ascii=False).encode("utf-8")
    return _COMPACT.encode(body).encode("utf-8")


class JsonBytes(Response):
    """A JSON answer whose extra headers come ready-encoded (the hot paths' fixed headers):
    Starlette's ``init_headers`` lower-cases and encodes every header of every response."""

    media_type = JSON

    def __init__(
        self, body: bytes, status_code: int = 200, raw_headers: tuple = (), background=None
    ) -> None:
        self.status_code = status_code
        self.body = body
        self.background = background
        self.raw_headers = [
            *raw_headers,
            (b"content-length", str(len(body)).encode()),
            (b"content-type", b"application/json"),
        ]


def json_response(
    body: Any, status: int = 200, headers: Mapping[str, str] | None = None, pretty: bool = False
) -> Response:
    raw = json_bytes(body, pretty)
    if status < 200 or status in (204, 304) or (headers and _sets_entity_headers(headers)):
        return Response(raw, status_code=status, headers=headers, media_type=JSON)
    return JsonBytes(raw, status, encoded_headers(headers) if headers else ())


def encoded_headers(headers: Mapping[str, str]) -> tuple[tuple[bytes, bytes], ...]:
    """Headers as ASGI sends them (lower-case latin-1 names), as Starlette encodes them."""
    return tuple((k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items())


def _sets_entity_headers(headers: Mapping[str, str]) -> bool:
    return any(k.lower() in ("content-type", "content-length") for k in headers)


def _keep_fields(item: Any, fields: list[str]) -> Any:
    if isinstance(item, dict):
        return {k: v for k, v in item.items() if k in fields}
    return item


def page(params: Mapping[str, str]) -> tuple[int, int]:
    """``(limit, offset)`` from the query, for routes that page in the database query.

    Both are at most ``MAX_PAGING`` (checked by ``_non_negative``): SQL overflows past 64 bits.
    """
    return _non_negative(params, "limit", DEFAULT_LIMIT), _non_negative(params, "offset", 0)


def shape_result(result: Any, params: Mapping[str, str], paged: bool = False) -> Any:
    """Apply paging (lists, unless the query already paged them) and ``filter`` to a result."""
    limit, offset = page(params)
    if isinstance(result, list) and not paged:
        result = result[offset : offset + limit]
    fields = [f.strip() for f in (_single(params, "filter") or "").split(",") if f.strip()]
    if fields:
        if isinstance(result, list):
            result = [_keep_fields(item, fields) for item in result]
        else:
            result = _keep_fields(result, fields)
    return result


def envelope(
    result: Any,
    message: str,
    params: Mapping[str, str],
    status: int = 200,
    headers: Mapping[str, str] | None = None,
    paged: bool = False,
) -> Response:
    """A success envelope, shaped by the request's query parameters."""
    if not params and (paged or not isinstance(result, list)):  # nothing to page or filter
        body = {"status": "success", "message": message, "version": __version__, "result": result}
        return json_response(body, status, headers)
    shaped = shape_result(result, params, paged)
    pretty = _flag(params, "pretty")
    if _flag(params, "naked"):
        return json_response(shaped, status, headers, pretty)
    body = {"status": "success", "message": message, "version": __version__, "result": shaped}
    return json_response(body, status, headers, pretty)


def error_envelope(
    status: int,
    message: str,
    headers: Mapping[str, str] | None = None,
    params: Mapping[str, str] | None = None,
) -> Response:
    body = {"status": "error", "message": message, "version": __version__, "result": None}
    return json_response(body, status, headers, _flag_or_false(params or {}, "pretty"))


def invalid_credentials_fault(api: str = "/profiles/v2", version: str = "v2") -> Response:
    """WSO2's 900901: what agavepy and agave-cli recognise as an expired or bad token."""
    return json_response(
        faults.invalid_credentials(api, version),
        401,
        {"WWW-Authenticate": faults.INVALID_TOKEN_CHALLENGE},
    )


def forbidden_fault(api: str = "/profiles/v2", version: str = "v2") -> Response:
    """WSO2's 900908: the token's client is not subscribed to the API."""
    return json_response(faults.forbidden(api, version), 403)


def oauth_error(
    status: int, error: str, description: str, headers: Mapping[str, str] | None = None
) -> Response:
    """An RFC 6749 section 5.2 error body (used by /token and /revoke)."""
    base = {"Cache-Control": "no-store", "Pragma": "no-cache", **(headers or {})}
    return json_response({"error": error, "error_description": description}, status, base)
