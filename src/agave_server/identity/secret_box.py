"""The identity backends' own secrets (an LDAP service password, an upstream client secret),
sealed at rest with the server's key-encryption key (``oauth.keys.KeyEncryption``: AES-256-GCM,
the key from ``AGAVE_SERVER_KEY_ENCRYPTION_KEY`` or the data directory's file).

They must be usable again (sent to the directory or the upstream), so they cannot be digests;
sealed, a copy of the database alone does not reveal them. Each is bound to what it is for
(AES-GCM associated data), so a sealed value cannot be moved to another tenant or provider.
Configured once per process (``configure``), like the password hashing.
"""

from __future__ import annotations

import threading

from ..config import Settings
from ..errors import ServiceUnavailable

_PREFIX = "aesgcm1:"
_box = None
_lock = threading.Lock()


def configure(settings: Settings) -> None:
    global _box
    from ..oauth.keys import KeyEncryption

    with _lock:
        _box = KeyEncryption.from_settings(settings)


def _current():
    if _box is None:
        configure(Settings.load())
    return _box


def ldap_context(tenant_id: int) -> str:
    return f"ldap-bind-password:{tenant_id}"


def upstream_context(tenant_id: int, name: str) -> str:
    return f"upstream-client-secret:{tenant_id}:{name}"


def seal(value: str, context: str) -> str:
    if not value or value.startswith(_PREFIX):
        return value
    return _current().seal(value.encode("utf-8"), context)


def unseal(value: str, context: str) -> str:
    """The secret; a value stored before sealing existed is returned as it is."""
    if not value.startswith(_PREFIX):
        return value
    from ..oauth.keys import KeyUnavailable

    try:
        return _current().open(value, context).decode("utf-8")
    except KeyUnavailable as err:
        raise ServiceUnavailable(
            f"A secret of this tenant's sign-in configuration cannot be decrypted ({err}); "
            "the operator must set it again with `agave-server tenants update`."
        ) from None
