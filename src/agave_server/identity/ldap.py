"""LDAP: a tenant's users live in a directory; a password is right when binding as the user works.

Two ways to find the user's entry, as in every LDAP-backed server:

- a DN template, ``uid={username},ou=People,dc=example,dc=org``: bind straight as that DN;
- a search: bind as a service account (or anonymously), search ``search_base`` with
  ``search_filter`` (``(uid={username})``), require exactly one entry, bind as it.

What is put into a DN is escaped by RFC 4514, into a filter by RFC 4515, so a username like
``*`` or ``)(uid=*`` names nobody instead of everybody. An empty password is refused before any
bind (to LDAP it would be an anonymous bind, and that succeeds). The entry's own ``uid`` value
is the canonical username (directories match ``uid`` case-insensitively, so ``Alice`` and
``alice`` are one user), and the user gets a row in ``users`` (clients and tokens point at it)
with an unusable password marker and the profile the directory holds.

A directory that cannot be reached or answers with anything but "wrong credentials" is
``errors.ServiceUnavailable`` (503): never a 500, and never "wrong password".
"""

from __future__ import annotations

import logging
import re
import ssl
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from urllib.parse import urlsplit

from ldap3 import ANONYMOUS, BASE, NONE, SIMPLE, SUBTREE, SYNC, Connection, Server, Tls
from ldap3.core.exceptions import LDAPException, LDAPStartTLSError
from ldap3.utils.conv import escape_filter_chars

from ..errors import BadRequest, Forbidden, ServiceUnavailable
from ..services.validation import USERNAME_RE
from ..storage import Database
from ..storage import users as store
from ..storage.records import Tenant, User
from . import secret_box

log = logging.getLogger(__name__)

MAX_USERNAME = 256
MAX_PASSWORD = 1024
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Result codes of a bind that mean "not this user / not this password" (RFC 4511 appendix A):
# invalidCredentials, inappropriateAuthentication, noSuchObject, invalidDNSyntax.
_REFUSED_BIND = {49, 48, 32, 34}


def escape_dn_value(value: str) -> str:
    """An attribute value for a DN, escaped as RFC 4514 section 2.4 requires."""
    out = []
    for i, ch in enumerate(value):
        if ch == "\x00":
            out.append("\\00")
        elif ch in '"+,;<>\\=' or (ch in " #" and i == 0) or (ch == " " and i == len(value) - 1):
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def escape_filter_value(value: str) -> str:
    """An assertion value for a filter, escaped as RFC 4515 section 3 requires."""
    return escape_filter_chars(value)


@dataclass(frozen=True)
class LdapSettings:
    """A tenant's directory, as ``tenants update --ldap-*`` stores it (JSON in tenant_identity)."""

    url: str
    user_dn: str = ""
    search_base: str = ""
    search_filter: str = "(uid={username})"
    bind_dn: str = ""
    bind_password: str = ""
    start_tls: bool = False
    ca_file: str = ""
    username_attribute: str = "uid"
    mail_attribute: str = "mail"
    first_name_attribute: str = "givenName"
    last_name_attribute: str = "sn"
    timeout: int = 5

    @classmethod
    def from_dict(cls, values: dict) -> LdapSettings:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    def as_dict(self) -> dict:
        return asdict(self)

    def check(self) -> LdapSettings:
        """Raise BadRequest naming the option when the settings cannot work."""
        parts = urlsplit(self.url)
        if parts.scheme not in ("ldap", "ldaps") or not parts.hostname:
            raise BadRequest(
                f"Invalid --ldap-url {self.url!r}: expected ldap://HOST[:PORT] or "
                "ldaps://HOST[:PORT]"
            )
        try:
            parts.port  # noqa: B018 - raises on a bad port
        except ValueError:
            raise BadRequest(f"Invalid --ldap-url {self.url!r}: the port is not a number") from None
        if parts.path not in ("", "/") or parts.query:
            raise BadRequest(
                f"Invalid --ldap-url {self.url!r}: give only the server (scheme, host, port); "
                "the DN template or search base says where users are"
            )
        if self.start_tls and parts.scheme == "ldaps":
            raise BadRequest("--ldap-starttls is for ldap:// URLs; ldaps:// is TLS already")
        if bool(self.user_dn) == bool(self.search_base):
            raise BadRequest(
                "Give either --ldap-user-dn 'uid={username},ou=People,dc=example,dc=org' "
                "or --ldap-search-base (with --ldap-search-filter), not both and not neither"
            )
        if self.user_dn and "{username}" not in self.user_dn:
            raise BadRequest(
                f"Invalid --ldap-user-dn {self.user_dn!r}: it must contain {{username}}"
            )
        if self.search_base:
            f = self.search_filter
            if "{username}" not in f or not (f.startswith("(") and f.endswith(")")):
                raise BadRequest(
                    f"Invalid --ldap-search-filter {f!r}: a parenthesised LDAP filter "
                    "containing {username}, e.g. '(&(objectClass=inetOrgPerson)(uid={username}))'"
                )
        if self.bind_password and not self.bind_dn:
            raise BadRequest("A service bind password needs --ldap-bind-dn")
        if self.ca_file and not Path(self.ca_file).is_file():
            raise BadRequest(f"--ldap-ca-file {self.ca_file}: no such file")
        if not 1 <= self.timeout <= 120:
            raise BadRequest(f"--ldap-timeout {self.timeout}: use 1 to 120 seconds")
        return self

    @property
    def host_port(self) -> str:
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or (636 if parts.scheme == 'ldaps' else 389)}"


@dataclass(frozen=True)
class DirectoryEntry:
    dn: str
    username: str
    email: str
    first_name: str
    last_name: str


def _is_tls_failure(err: Exception) -> bool:
    text = str(err).lower()
    return isinstance(err, LDAPStartTLSError) or "certificate" in text or "ssl" in text


def _first(entry, attribute: str) -> str:
    values = entry.get(attribute) if attribute else None
    if not values:
        return ""
    value = values[0] if isinstance(values, list) else values
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
    return _CONTROL.sub("", text)[:255]


class LdapDirectory:
    """The password backend for one tenant's directory."""

    def __init__(self, db: Database, settings: LdapSettings, tenant_id: int = 0) -> None:
        self.db = db
        self.settings = settings
        self.tenant_id = tenant_id

    def _bind_password(self) -> str:
        """The service account's password, unsealed only for the bind (secret_box)."""
        context = secret_box.ldap_context(self.tenant_id)
        return secret_box.unseal(self.settings.bind_password, context)

    # -- the interface ---------------------------------------------------------------------
    def authenticate(self, tenant: Tenant, username: str, password: str) -> User | None:
        entry = self.check_password(username, password)
        if entry is None:
            return None
        return self._user_row(tenant, entry)

    def profile(self, tenant: Tenant, username: str) -> User | None:
        """The stored profile, refreshed from the directory at each sign-in."""
        return store.get_user(self.db, tenant.id, username)

    # -- the directory -----------------------------------------------------------------------
    def check_password(self, username: str, password: str) -> DirectoryEntry | None:
        """The user's entry when binding as them with ``password`` works, else None."""
        if not password or len(password) > MAX_PASSWORD:
            return None  # refused before any bind: an empty password is an anonymous bind
        if not username or len(username) > MAX_USERNAME or _CONTROL.search(username):
            return None
        try:
            if self.settings.user_dn:
                dn = self.settings.user_dn.replace("{username}", escape_dn_value(username))
                return self._bind_and_read(dn, password, username)
            dn = self._search(username)
            return None if dn is None else self._bind_and_read(dn, password, username)
        except LDAPException as err:
            log.warning("LDAP directory %s unavailable: %s", self.settings.host_port, err)
            if _is_tls_failure(err):
                raise self._untrusted() from None
            raise self._unavailable() from None

    def ping(self) -> None:
        """Open a connection and bind as the service account (or anonymously); raise
        ServiceUnavailable naming the reason if that does not work (for operators)."""
        where = f"the LDAP directory at {self.settings.host_port}"
        try:
            conn = self._connection(self.settings.bind_dn or None, self._bind_password())
            try:
                if not conn.bind():
                    who = self.settings.bind_dn or "anonymous"
                    raise ServiceUnavailable(
                        f"{where} refused the bind as {who}: {conn.result.get('description')}"
                    )
            finally:
                conn.unbind()
        except LDAPException as err:
            raise ServiceUnavailable(
                f"{where} does not answer ({err}); the settings are stored, and sign-ins "
                "through it get 503 until it does"
            ) from None

    def _untrusted(self) -> ServiceUnavailable:
        return ServiceUnavailable(
            f"The tenant's user directory (LDAP at {self.settings.host_port}) could not be "
            "reached securely: its TLS certificate is not trusted (check --ldap-ca-file); "
            "your password was not checked.",
            retry_after=30,
        )

    def _unavailable(self, why: object = None) -> ServiceUnavailable:
        if why is not None:
            log.warning("LDAP directory %s unavailable: %s", self.settings.host_port, why)
        return ServiceUnavailable(
            f"The tenant's user directory (LDAP at {self.settings.host_port}) is not "
            "answering; your password was not checked. Retry in a moment.",
            retry_after=5,
        )

    def _server(self) -> Server:
        s = self.settings
        parts = urlsplit(s.url)
        tls = None
        if parts.scheme == "ldaps" or s.start_tls:
            tls = Tls(validate=ssl.CERT_REQUIRED, ca_certs_file=s.ca_file or None)
        return Server(
            parts.hostname,
            port=parts.port,
            use_ssl=parts.scheme == "ldaps",
            tls=tls,
            get_info=NONE,
            connect_timeout=s.timeout,
        )

    def _connection(self, user: str | None, password: str | None) -> Connection:
        conn = Connection(
            self._server(),
            user=user,
            password=password if user else None,
            authentication=SIMPLE if user else ANONYMOUS,
            client_strategy=SYNC,
            read_only=True,
            raise_exceptions=False,
            receive_timeout=self.settings.timeout,
            auto_referrals=False,
        )
        conn.open()
        if self.settings.start_tls and not conn.start_tls():
            raise ServiceUnavailable(
                f"StartTLS with the tenant's directory ({self.settings.host_port}) failed: "
                f"{conn.result.get('description', 'no answer')}",
            )
        return conn

    def _attributes(self) -> list[str]:
        s = self.settings
        names = (
            s.username_attribute,
            s.mail_attribute,
            s.first_name_attribute,
            s.last_name_attribute,
        )
        return [a for a in names if a]

    def _search(self, username: str) -> str | None:
        """The DN of the one entry the filter finds for ``username`` (service bind)."""
        s = self.settings
        conn = self._connection(s.bind_dn or None, self._bind_password())
        try:
            if not conn.bind():
                log.warning("LDAP service bind as %r refused: %s", s.bind_dn, conn.result)
                raise ServiceUnavailable(
                    f"The tenant's user directory ({s.host_port}) refused the server's service "
                    "account (check --ldap-bind-dn and its password); your password was not "
                    "checked."
                )
            query = s.search_filter.replace("{username}", escape_filter_value(username))
            conn.search(s.search_base, query, SUBTREE, attributes=[], size_limit=2)
            code = conn.result.get("result")
            if code not in (0, 4):  # success, sizeLimitExceeded; else e.g. the base is gone
                raise self._unavailable(conn.result)
            if len(conn.entries) != 1:
                if len(conn.entries) > 1:
                    log.warning("LDAP filter %s matches several entries; refusing", query)
                return None
            return conn.entries[0].entry_dn
        finally:
            conn.unbind()

    def _bind_and_read(self, dn: str, password: str, typed: str) -> DirectoryEntry | None:
        conn = self._connection(dn, password)
        try:
            if not conn.bind():
                if conn.result.get("result") in _REFUSED_BIND:
                    return None
                raise self._unavailable(conn.result)
            conn.search(dn, "(objectClass=*)", BASE, attributes=self._attributes())
            if not conn.entries:
                # Bound, but may not read its own entry: the DN is all we know.
                log.warning("LDAP entry %s is not readable by its own bind", dn)
                return None
            entry = conn.entries[0].entry_attributes_as_dict
            return DirectoryEntry(
                dn=conn.entries[0].entry_dn,
                username=self._canonical(entry, typed),
                email=_first(entry, self.settings.mail_attribute),
                first_name=_first(entry, self.settings.first_name_attribute),
                last_name=_first(entry, self.settings.last_name_attribute),
            )
        finally:
            conn.unbind()

    def _canonical(self, entry: dict, typed: str) -> str:
        """The entry's own spelling of the username (of several values, the one typed)."""
        values = [str(v) for v in entry.get(self.settings.username_attribute) or []]
        for value in values:
            if value.lower() == typed.lower():
                return value
        return values[0] if values else ""

    # -- the users row -----------------------------------------------------------------------
    def _user_row(self, tenant: Tenant, entry: DirectoryEntry) -> User:
        name = entry.username
        if not USERNAME_RE.fullmatch(name):
            raise Forbidden(
                f"Your directory account's {self.settings.username_attribute} {name[:64]!r} "
                "cannot be an Agave username (1 to 64 characters from A-Z a-z 0-9 _ . @ -); "
                "ask the tenant's operator."
            )
        user = store.get_user(self.db, tenant.id, name)
        if user is None:
            try:
                return store.add_user(
                    self.db,
                    tenant.id,
                    name,
                    store.LDAP_MARKER,
                    email=entry.email,
                    first_name=entry.first_name,
                    last_name=entry.last_name,
                )
            except store.DuplicateUser:  # a concurrent first login made it
                user = store.get_user(self.db, tenant.id, name)
                assert user is not None
        if user.password_hash == store.UPSTREAM_MARKER:
            # Never linked by name: that account belongs to someone an upstream signed in.
            raise Forbidden(
                f"The username {name} of tenant {tenant.code} belongs to an account signed in "
                "through an upstream provider, not to this directory's user; ask the operator."
            )
        return store.refresh_profile(self.db, user, entry.email, entry.first_name, entry.last_name)
