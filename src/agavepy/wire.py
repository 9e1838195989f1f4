"""The fixed values of the Agave v2 wire contract (docs/AGAVE_WIRE.md), in one place.

The SDK and ``agave`` check input against them before anything is sent; the server (shipped in
the same distribution, so this package is always installed beside it) validates requests and
builds its OpenAPI schemas from the same values. Standard library only, cheap to import.
"""

from __future__ import annotations

#: Client names go unencoded into URL paths (``/clients/v2/{name}``).
CLIENT_NAME_PATTERN = r"[A-Za-z0-9_.-]{1,64}"
#: The rule above in words, for error messages.
CLIENT_NAME_RULE = "1 to 64 characters from A-Z a-z 0-9 _ . -"

#: Rate-limit tiers, in their canonical spelling (accepted in any case).
TIERS = ("Bronze", "Silver", "Gold", "Unlimited")
DEFAULT_TIER = "Unlimited"

#: The default API catalogue of a new tenant, in this order; version and provider below.
DEFAULT_API_NAMES = (
    "Apps",
    "Files",
    "Jobs",
    "Meta",
    "Monitors",
    "Notifications",
    "Postits",
    "Profiles",
    "Systems",
    "Transforms",
    "PublicKeys",
)
DEFAULT_API_VERSION = "v2"
DEFAULT_API_PROVIDER = "admin"


def api_context(name: str, version: str = DEFAULT_API_VERSION) -> str:
    """An API's default context path, e.g. ``/publickeys/v2``."""
    return f"/{name.lower()}/{version}"


def canonical_tier(value: str) -> str | None:
    """``value``'s tier in canonical spelling (any case accepted), or None if it is none."""
    for known in TIERS:
        if str(value).lower() == known.lower():
            return known
    return None
