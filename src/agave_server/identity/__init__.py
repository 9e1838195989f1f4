"""Who is this user? The tenant's identity backends, behind one small interface.

Each backend answers ``authenticate(tenant, username, password)`` (the user, or None for a
wrong username or password; ``errors.ServiceUnavailable`` when it cannot tell) and
``profile(tenant, username)``. Upstream OpenID Connect sign-in is a redirect/callback pair
instead (``upstream_oidc.start`` / ``upstream_oidc.finish``), since no password is involved.

``services.accounts.authenticate`` is the only caller of the password backends (password
grant, HTTP Basic, login page): it applies the brute-force throttle around them, so no backend
is asked before the throttle has had its say. Nothing here imports a web framework.
"""

from __future__ import annotations

from typing import Protocol

from ..errors import Forbidden
from ..storage import Database, identity_config
from ..storage import users as user_store
from ..storage.records import IdentitySettings, Tenant, User
from .local import LocalPasswords


class PasswordBackend(Protocol):
    def authenticate(self, tenant: Tenant, username: str, password: str) -> User | None: ...

    def profile(self, tenant: Tenant, username: str) -> User | None: ...


class PasswordLoginOff(Forbidden):
    """The tenant has neither local nor LDAP login: no password is accepted at all."""


def password_login_off_message(tenant: Tenant) -> str:
    return (
        f"Password sign-in is switched off for tenant {tenant.code} (no local or LDAP login), "
        "so grant_type=password and HTTP Basic with a username and password are refused: "
        "sign in through the tenant's login page instead."
    )


class TenantIdentity:
    """The password backends one tenant has configured, asked in a fixed order.

    With both local and LDAP login on, a user who has a local password is checked locally
    (an operator-made account, e.g. an administrator, keeps working when the directory is
    down); everyone else is checked against the directory, as Keycloak does with federation.
    """

    def __init__(self, db: Database, tenant: Tenant, settings: IdentitySettings) -> None:
        self.db = db
        self.tenant = tenant
        self.settings = settings
        self.local = LocalPasswords(db) if settings.local_login else None
        self.ldap = None
        if settings.ldap:
            from .ldap import LdapDirectory, LdapSettings

            self.ldap = LdapDirectory(db, LdapSettings.from_dict(settings.ldap), tenant.id)

    @property
    def accepts_passwords(self) -> bool:
        return self.local is not None or self.ldap is not None

    def require_password_login(self) -> None:
        if not self.accepts_passwords:
            raise PasswordLoginOff(password_login_off_message(self.tenant))

    def account_name(self, username: str) -> str:
        """The name the throttle counts failures under: one counter per directory user.

        Directory user names match case-insensitively (``Alice`` is ``alice``), so with LDAP
        on the count is kept under the lower-case name; local names stay exact, as before.
        """
        return username.lower() if self.ldap is not None else username

    def backend_for(self, username: str) -> PasswordBackend:
        self.require_password_login()
        if self.ldap is None:
            assert self.local is not None
            return self.local
        if self.local is not None:
            user = user_store.get_user(self.db, self.tenant.id, username)
            if user is not None and user_store.has_local_password(user):
                return self.local
        return self.ldap

    def authenticate(self, username: str, password: str) -> User | None:
        return self.backend_for(username).authenticate(self.tenant, username, password)

    def profile(self, username: str) -> User | None:
        return self.backend_for(username).profile(self.tenant, username)


def for_tenant(db: Database, tenant: Tenant) -> TenantIdentity:
    """The tenant's identity backends, from its settings (one indexed read)."""
    return TenantIdentity(db, tenant, identity_config.get_settings(db, tenant.id))
