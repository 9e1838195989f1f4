"""Request bodies: form-encoded or JSON, turned into one flat ``{field: string}`` mapping.

Agave tools post forms; agavepy's generated resources post JSON. Both are accepted on every
POST and DELETE. A field given twice, a JSON value that is not a string (null means absent)
or an unknown content type is a 4xx that names the problem; unknown fields are ignored.
(The size limit is enforced earlier, in ``middleware``.)
"""

from __future__ import annotations

import json
from urllib.parse import parse_qsl

from starlette.requests import Request

from ..errors import BadRequest, UnsupportedMediaType

FORM = "application/x-www-form-urlencoded"
ACCEPTED = f"{FORM} or application/json"


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _no_nul(key: str, value: str) -> None:
    """No field of this API can hold NUL, and PostgreSQL text cannot store or compare it."""
    if "\x00" in key or "\x00" in value:
        shown = key.replace("\x00", "\\0")[:40]
        raise BadRequest(f"Field '{shown}' contains a NUL control character, which is not allowed.")


def _from_pairs(pairs: list[tuple[str, str]]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in pairs:
        _no_nul(key, value)
        if key in out:
            raise BadRequest(f"Field '{key[:40]}' is given more than once.")
        out[key] = value
    return out


def parse_form(raw: bytes) -> dict[str, str]:
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest("The form body is not valid UTF-8.") from None
    if "%" in text or "+" in text:
        try:
            pairs = parse_qsl(text, keep_blank_values=True, errors="strict")
        except (UnicodeDecodeError, ValueError):
            raise BadRequest("The form body is not valid URL-encoded UTF-8.") from None
    else:
        pairs = _plain_pairs(text)
    return _from_pairs(pairs)


def _plain_pairs(text: str) -> list[tuple[str, str]]:
    """``parse_qsl(text, keep_blank_values=True)`` for a body with nothing to unquote (no
    ``%``, no ``+``): what every token request and introspection sends, in a third of the
    time. Empty fields are skipped and a field without ``=`` has an empty value, as there."""
    pairs = []
    for field in text.split("&"):
        if field:
            name, _, value = field.partition("=")
            pairs.append((name, value))
    return pairs


_JSON_TYPES = {bool: "boolean", int: "number", float: "number", list: "array", dict: "object"}


def _json_scalar(key: str, value: object) -> str | None:
    """Fields are text, as in a form: a JSON string, or null for an absent field."""
    if value is None or isinstance(value, str):
        return value
    kind = _JSON_TYPES.get(type(value), type(value).__name__)
    raise BadRequest(f"Field '{key[:40]}' must be a JSON string (or null), not a JSON {kind}.")


def parse_json(raw: bytes) -> dict[str, str]:
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, ValueError) as err:
        raise BadRequest(f"The JSON body is not valid JSON: {str(err)[:120]}") from None
    if not isinstance(data, dict):
        raise BadRequest('The JSON body must be an object of fields, e.g. {"clientName": "x"}.')
    out: dict[str, str] = {}
    for key, value in data.items():
        text = _json_scalar(key, value)
        _no_nul(key, text or "")
        if text is not None:
            out[key] = text
    return out


async def read_params(request: Request, content_type: str | None = None) -> dict[str, str]:
    """The body's fields (form or JSON); an empty body gives no fields. ``content_type``: the
    header's value when the caller has read the headers already (the OAuth routes have)."""
    raw = await request.body()
    if content_type is None:
        content_type = request.headers.get("content-type", "")
    return parse_params(raw, content_type)


def parse_params(raw: bytes, content_type: str) -> dict[str, str]:
    """A body's fields by its ``Content-Type`` (form or JSON); an empty body gives none."""
    if not raw.strip():
        return {}
    media = _media_type(content_type)
    if media in ("", FORM):
        return parse_form(raw)
    if media == "application/json" or media.endswith("+json"):
        return parse_json(raw)
    raise UnsupportedMediaType(f"Unsupported Content-Type '{media[:60]}': send {ACCEPTED}.")
