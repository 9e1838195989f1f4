"""Shared pieces of route documentation (status codes with their bodies)."""

from __future__ import annotations

from typing import Any

from ..schemas import ErrorEnvelope, OAuthError

_DESCRIPTIONS = {
    400: "Bad input: the message names the field and what is allowed",
    401: "Missing or bad credentials (with a WWW-Authenticate challenge)",
    403: "Not allowed",
    404: "Unknown (or not yours)",
    409: "Duplicate name",
    413: "Body larger than the configured limit",
    415: "Unsupported Content-Type",
    429: "Too many failed attempts (with Retry-After)",
    503: "The database is busy; retry",
}


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {c: {"model": ErrorEnvelope, "description": _DESCRIPTIONS[c]} for c in codes}


def oauth_error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    out: dict[int | str, dict[str, Any]] = {
        c: {"model": OAuthError, "description": _DESCRIPTIONS[c]} for c in codes
    }
    out[413] = {"model": ErrorEnvelope, "description": _DESCRIPTIONS[413]}
    return out
