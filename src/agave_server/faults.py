"""WSO2 API Manager's fault bodies, which agavepy and agave-cli recognise.

One place for their wording: ``/profiles/v2/me`` answers them directly and the gateway
decision hands them to the proxy, so a caller gets the same JSON from either.
"""

from __future__ import annotations

from typing import Any

INVALID_CREDENTIALS = "900901"
RESOURCE_FORBIDDEN = "900908"
THROTTLED = "900800"
INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'


def invalid_credentials(api: str = "/profiles/v2", version: str = "v2") -> dict[str, Any]:
    """900901: a missing, unknown, expired or revoked token (agavepy refreshes on it)."""
    return {
        "fault": {
            "code": INVALID_CREDENTIALS,
            "message": "Invalid Credentials",
            "description": f"Access failure for API: {api}, version: {version}. "
            "Make sure you have given the correct access token",
        }
    }


def forbidden(api: str = "/profiles/v2", version: str = "v2") -> dict[str, Any]:
    """900908: the token's client is not subscribed to the API."""
    return {
        "fault": {
            "code": RESOURCE_FORBIDDEN,
            "message": "Resource forbidden",
            "description": f"Access failure for API: {api}, version: {version}. "
            "The client is not subscribed to this API",
        }
    }


def throttled(tier: str, limit: str, retry_after: int, next_access: str) -> dict[str, Any]:
    """900800: over the tier's rate; ``nextAccessTime`` as WSO2 gives it."""
    return {
        "fault": {
            "code": THROTTLED,
            "message": "Message throttled out",
            "description": f"You have exceeded your quota: tier {tier} allows {limit}; "
            f"try again in {retry_after} seconds.",
            "nextAccessTime": next_access,
        }
    }


def status_report(status: int, message: str, description: str) -> dict[str, Any]:
    """What WSO2's gateway answers for a request it cannot route (404) or parse (400)."""
    return {
        "fault": {
            "code": str(status),
            "type": "Status report",
            "message": message,
            "description": description,
        }
    }
