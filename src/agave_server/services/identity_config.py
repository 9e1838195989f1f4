"""A tenant's identity configuration (operator commands): local login, LDAP, upstream providers.

Each change is checked whole before it is stored, so a bad option never leaves half a
configuration behind; ``describe`` is what ``tenants show`` prints, with every secret redacted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from ..errors import BadRequest, NotFound
from ..identity import secret_box
from ..identity.ldap import LdapSettings
from ..storage import Database
from ..storage import identity_config as store
from ..storage.records import IdentitySettings, Tenant, Upstream

UPSTREAM_NAME_RE = re.compile(r"[A-Za-z0-9_.-]{1,64}")
CLAIM_RE = re.compile(r"[A-Za-z0-9_.:-]{1,64}")
DOMAIN_RE = re.compile(r"(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}")
REDACTED = "(set, redacted)"


def issuer_of(tenant: Tenant) -> str:
    return tenant.base_url.rstrip("/")


def callback_url(tenant: Tenant, name: str) -> str:
    """Each upstream has its own redirect URI (mix-up defence, RFC 9700 section 4.4)."""
    return f"{issuer_of(tenant)}/login/upstream/{name}/callback"


# -- local login and LDAP ------------------------------------------------------------------


@dataclass(frozen=True)
class LdapChange:
    """The ``--ldap-*`` options given to one command; None means "leave as it is"."""

    url: str | None = None
    user_dn: str | None = None
    search_base: str | None = None
    search_filter: str | None = None
    bind_dn: str | None = None
    bind_password: str | None = None
    start_tls: bool | None = None
    ca_file: str | None = None
    username_attribute: str | None = None
    mail_attribute: str | None = None
    first_name_attribute: str | None = None
    last_name_attribute: str | None = None
    timeout: int | None = None

    def given(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def updated_settings(
    current: IdentitySettings,
    *,
    local_login: bool | None = None,
    ldap: LdapChange | None = None,
    remove_ldap: bool = False,
) -> IdentitySettings:
    """The settings after a change, checked whole (BadRequest names the bad option)."""
    settings = current
    if local_login is not None:
        settings = replace(settings, local_login=local_login)
    if remove_ldap:
        if ldap is not None and ldap.given():
            raise BadRequest("--no-ldap cannot be combined with other --ldap-* options")
        settings = replace(settings, ldap=None)
    elif ldap is not None and ldap.given():
        given = ldap.given()
        if settings.ldap is None and "url" not in given:
            raise BadRequest("The tenant has no LDAP directory yet: give --ldap-url first")
        base = dict(settings.ldap or {})
        # Switching between a DN template and a search replaces the other way's settings.
        if "user_dn" in given:
            base.pop("search_base", None)
        if "search_base" in given:
            base.pop("user_dn", None)
        if given.get("bind_password"):
            given["bind_password"] = secret_box.seal(
                given["bind_password"], secret_box.ldap_context(settings.tenant_id)
            )
        for attr in ("user_dn", "search_base", "bind_dn", "ca_file"):
            if given.get(attr) == "":
                base.pop(attr, None)
                given.pop(attr)
        ldap_settings = LdapSettings.from_dict({**base, **given}).check()
        settings = replace(settings, ldap=ldap_settings.as_dict())
    return settings


def update_identity(db: Database, tenant: Tenant, settings: IdentitySettings) -> IdentitySettings:
    store.save_settings(db, settings)
    return settings


def current_settings(db: Database, tenant: Tenant) -> IdentitySettings:
    return store.get_settings(db, tenant.id)


# -- upstream OpenID Connect providers ---------------------------------------------------------


def check_issuer(issuer: str) -> str:
    """An issuer identifier (OIDC Discovery section 2): https (http only on loopback)."""
    parts = urlsplit(issuer.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(f"Invalid --issuer {issuer!r}: expected https://HOST[/PATH]")
    if parts.query or parts.fragment:
        raise BadRequest(f"Invalid --issuer {issuer!r}: an issuer has no query or fragment")
    loopback = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme == "http" and not loopback:
        raise BadRequest(
            f"Invalid --issuer {issuer!r}: an upstream provider must use https "
            "(plain http is accepted on loopback only, for tests)"
        )
    return issuer.strip()


def email_domains(raw: str | None) -> tuple[str, ...]:
    if not raw:
        return ()
    domains = tuple(d.strip().lower() for d in raw.split(",") if d.strip())
    for d in domains:
        if not DOMAIN_RE.fullmatch(d):
            raise BadRequest(f"Invalid e-mail domain {d!r} in --email-domains: e.g. example.org")
    return domains


@dataclass(frozen=True)
class UpstreamChange:
    """An upstream provider's settings after a change, checked (``prepare_upstream``)."""

    name: str
    issuer: str
    client_id: str
    client_secret: str
    username_claim: str
    scope: str
    email_domains: tuple[str, ...]


def prepare_upstream(
    db: Database,
    tenant: Tenant,
    name: str,
    *,
    issuer: str | None,
    client_id: str | None,
    client_secret: str | None,
    username_claim: str | None = None,
    domains: str | None = None,
    scope: str | None = None,
) -> UpstreamChange:
    """Check an upstream provider's new settings (the given ones over its current ones)."""
    if not UPSTREAM_NAME_RE.fullmatch(name or ""):
        raise BadRequest(
            f"Invalid --upstream-oidc name {name!r}: use 1 to 64 characters from "
            "A-Z a-z 0-9 _ . - (it appears in the callback URL)"
        )
    existing = store.get_upstream(db, tenant.id, name)
    if existing is None:
        missing = [
            flag
            for flag, value in (
                ("--issuer", issuer),
                ("--client-id", client_id),
                ("--client-secret-file", client_secret),
            )
            if not value
        ]
        if missing:
            raise BadRequest(f"A new upstream provider {name} needs {', '.join(missing)}")
    claim = username_claim or (existing.username_claim if existing else "preferred_username")
    if not CLAIM_RE.fullmatch(claim):
        raise BadRequest(f"Invalid --username-claim {claim!r}: a claim name such as email")
    scope_value = scope or (existing.scope if existing else "openid email profile")
    if "openid" not in scope_value.split():
        raise BadRequest(f"Invalid --scope {scope_value!r}: it must include openid")
    if client_id is not None and not 0 < len(client_id) <= 255:
        raise BadRequest("Invalid --client-id: 1 to 255 characters")
    return UpstreamChange(
        name=name,
        issuer=check_issuer(issuer) if issuer else existing.issuer,  # type: ignore[union-attr]
        client_id=client_id or existing.client_id,  # type: ignore[union-attr]
        client_secret=secret_box.seal(client_secret, secret_box.upstream_context(tenant.id, name))
        if client_secret
        else existing.client_secret,  # type: ignore[union-attr]
        username_claim=claim,
        scope=scope_value,
        email_domains=email_domains(domains)
        if domains is not None
        else (existing.email_domains if existing else ()),
    )


def save_upstream(db: Database, tenant: Tenant, change: UpstreamChange) -> Upstream:
    values = dict(change.__dict__)
    return store.put_upstream(db, tenant.id, values.pop("name"), **values)


def require_upstream(db: Database, tenant: Tenant, name: str) -> Upstream:
    upstream = store.get_upstream(db, tenant.id, name)
    if upstream is None:
        known = ", ".join(u.name for u in store.list_upstreams(db, tenant.id)) or "none"
        raise NotFound(f"Tenant {tenant.code} has no upstream provider {name} (it has: {known})")
    return upstream


def remove_upstream(db: Database, tenant: Tenant, name: str) -> None:
    """Remove the provider; its users keep their accounts (and their (issuer, sub) keys)."""
    if not store.remove_upstream(db, tenant.id, name):
        raise NotFound(f"Tenant {tenant.code} has no upstream provider {name}")


def upstreams(db: Database, tenant: Tenant) -> list[Upstream]:
    return store.list_upstreams(db, tenant.id)


# -- tenants show -------------------------------------------------------------------------------


def describe(db: Database, tenant: Tenant) -> dict:
    """The tenant's whole configuration as plain data, secrets redacted."""
    settings = store.get_settings(db, tenant.id)
    record = {k: v for k, v in tenant.__dict__.items() if k not in ("id",)}
    record["issuer"] = issuer_of(tenant)
    ldap = None
    if settings.ldap:
        ldap = LdapSettings.from_dict(settings.ldap).as_dict()
        ldap["bind_password"] = REDACTED if ldap["bind_password"] else ""
    password_via = [n for n, on in (("local", settings.local_login), ("LDAP", ldap)) if on]
    return {
        "tenant": record,
        "identity": {
            "local_login": settings.local_login,
            "password_grant": bool(password_via),
            "password_backends": password_via,
            "ldap": ldap,
            "upstream_oidc": [
                {
                    "name": u.name,
                    "issuer": u.issuer,
                    "client_id": u.client_id,
                    "client_secret": REDACTED,
                    "username_claim": u.username_claim,
                    "scope": u.scope,
                    "email_domains": list(u.email_domains),
                    "callback_url": callback_url(tenant, u.name),
                }
                for u in store.list_upstreams(db, tenant.id)
            ],
        },
    }
