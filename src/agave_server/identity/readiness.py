"""Readiness of the identity backends: every configured LDAP directory answers a bind.

``ldap_check(db)`` is a plain check function for the readiness registry of ``/health/ready``
(it returns a short detail or raises); registering it is one line where the app registers
its checks: ``register_readiness_check("ldap", ldap_check(db))``. With no tenant on LDAP it
costs one indexed read and passes.
"""

from __future__ import annotations

from collections.abc import Callable

from ..storage import Database
from ..storage import identity_config as store
from .ldap import LdapDirectory, LdapSettings


class DirectoryDown(Exception):
    """One or more tenants' directories do not answer (the message names the tenants' ids)."""


def ldap_check(db: Database) -> Callable[[], str]:
    def check() -> str:
        configured = store.ldap_tenants(db)
        down = []
        for settings in configured:
            ldap = LdapSettings.from_dict(settings.ldap or {})
            directory = LdapDirectory(db, ldap, settings.tenant_id)
            try:
                directory.ping()
            except Exception:
                down.append(settings.tenant_id)
        if down:
            raise DirectoryDown(f"LDAP of tenant ids {down} does not answer")
        return f"{len(configured)} directories answer" if configured else "no LDAP configured"

    return check
