"""The database schema as SQLAlchemy Core tables (the single source the migrations follow).

Times are Unix seconds in integers: portable between SQLite and PostgreSQL and cheap to compare
in the hot queries. Secrets appear only as SHA-256 hex digests.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
Id = BigInteger().with_variant(Integer(), "sqlite")

tenants = Table(
    "tenants",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("base_url", String(1024), nullable=False),
    Column("host", String(255), nullable=False, index=True),
    Column("contact_name", String(255), nullable=False, server_default=""),
    Column("contact_email", String(255), nullable=False, server_default=""),
    Column("contact_url", String(1024), nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
    # 'opaque' (base62, the Agave wire's default) or 'jwt' (RFC 9068); revision 0003.
    Column("access_token_format", String(16), nullable=False, server_default="opaque"),
)

users = Table(
    "users",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("username", String(64), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("is_admin", Boolean, nullable=False, server_default="0"),
    Column("email", String(255), nullable=False, server_default=""),
    Column("first_name", String(255), nullable=False, server_default=""),
    Column("last_name", String(255), nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
    # Set by a tenant admin (portal, agave-server users disable): no sign-in, no token works.
    Column("disabled_at", BigInteger, nullable=True),
    UniqueConstraint("tenant_id", "username", name="uq_users_tenant_username"),
)

apis = Table(
    "apis",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("version", String(32), nullable=False),
    Column("provider", String(64), nullable=False),
    Column("context", String(255), nullable=False),
    Column("status", String(32), nullable=False, server_default="PUBLISHED"),
    # New clients are subscribed to every default API.
    Column("is_default", Boolean, nullable=False, server_default="0"),
    Column("created_at", BigInteger, nullable=False),
    # Where the gateway sends calls under ``context`` ('' = not behind the gateway; 0006).
    Column("backend_url", String(2048), nullable=False, server_default=""),
    UniqueConstraint("tenant_id", "name", "version", "provider", name="uq_apis_identity"),
)

clients = Table(
    "clients",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("description", Text, nullable=False, server_default=""),
    Column("consumer_key", String(64), nullable=False, unique=True),
    Column("secret_digest", String(64), nullable=False),
    Column("tier", String(16), nullable=False),
    Column("callback_url", String(2048), nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
    # Revision 0003: may introspect every token of its tenant (operator's choice), and where
    # RP-initiated logout may send the browser back to.
    Column("is_resource_server", Boolean, nullable=False, server_default="0"),
    Column("post_logout_redirect_uri", String(2048), nullable=False, server_default=""),
    UniqueConstraint("user_id", "name", name="uq_clients_user_name"),
)
# Listing a user's clients pages in creation order: WHERE user_id = ? ORDER BY id LIMIT/OFFSET.
Index("ix_clients_user_id_id", clients.c.user_id, clients.c.id)

subscriptions = Table(
    "subscriptions",
    metadata,
    Column("client_id", Id, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("api_id", Id, ForeignKey("apis.id", ondelete="CASCADE"), primary_key=True),
    Column("tier", String(16), nullable=False),
    Column("created_at", BigInteger, nullable=False),
)
Index("ix_subscriptions_api_id", subscriptions.c.api_id)

tokens = Table(
    "tokens",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", Id, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("grant_type", String(64), nullable=False),  # 64: the RFC 8628 device URN fits
    Column("scope", String(255), nullable=False),
    Column("access_digest", String(64), nullable=False, unique=True),
    Column("refresh_digest", String(64), nullable=True, unique=True),
    Column("issued_at", BigInteger, nullable=False),
    Column("access_expires_at", BigInteger, nullable=False),
    Column("refresh_expires_at", BigInteger, nullable=True),
    # Set when the pair's refresh token was exchanged: both tokens of the pair stop working.
    Column("rotated_at", BigInteger, nullable=True),
    Column("revoked_at", BigInteger, nullable=True),
    # The first pair of a refresh chain names the family; reuse of a rotated refresh token
    # revokes the whole family (OAuth 2.0 Security BCP).
    Column("family_id", String(32), nullable=False),
    Column("parent_id", Id, nullable=True),
)
Index("ix_tokens_family_id", tokens.c.family_id)
Index("ix_tokens_client_id", tokens.c.client_id)
Index("ix_tokens_user_id", tokens.c.user_id)
Index("ix_tokens_access_expires_at", tokens.c.access_expires_at)
# The purge finds revoked pairs without scanning the table.
Index("ix_tokens_revoked_at", tokens.c.revoked_at)

# A tenant's token-signing keys (revision 0003). The private key is encrypted (AES-GCM) with a
# key kept outside the database (oauth/keys.py); the public JWK is published at /oauth2/jwks
# until ``drop_at``. A key signs from ``signs_from`` until ``retires_at`` (the next key's
# ``signs_from``).
signing_keys = Table(
    "signing_keys",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("kid", String(64), nullable=False, unique=True),
    Column("alg", String(16), nullable=False),
    Column("public_jwk", Text, nullable=False),
    Column("private_key", Text, nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("signs_from", BigInteger, nullable=False),
    Column("retires_at", BigInteger, nullable=True),
    Column("drop_at", BigInteger, nullable=True),
)
Index("ix_signing_keys_tenant_id", signing_keys.c.tenant_id)

login_failures = Table(
    "login_failures",
    metadata,
    # e.g. "user:<tenant id>:<username>", "addr:<ip>", "client:<tenant id>:<consumer key>"
    Column("key", String(320), primary_key=True),
    Column("window_start", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
)

# One row per periodic job ("purge"): the process whose conditional UPDATE moves ``last_run``
# forward runs the job; the others skip that round (revision 0002).
housekeeping = Table(
    "housekeeping",
    metadata,
    Column("job", String(64), primary_key=True),
    Column("last_run", BigInteger, nullable=False),
)

# -- identity backends (revision 0005) ------------------------------------------------------
# How a tenant's users sign in: local passwords (the users table) on or off, an LDAP directory
# (its settings as JSON, '' when none) checked by binding as the user.
tenant_identity = Table(
    "tenant_identity",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("local_login", Boolean, nullable=False, server_default="1"),
    Column("ldap", Text, nullable=False, server_default=""),
    Column("updated_at", BigInteger, nullable=False),
)

# Upstream OpenID Connect providers a tenant's login page offers ("Sign in with NAME").
upstream_providers = Table(
    "upstream_providers",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("name", String(64), nullable=False),
    Column("issuer", String(1024), nullable=False),
    Column("client_id", String(255), nullable=False),
    Column("client_secret", String(1024), nullable=False),
    Column("username_claim", String(64), nullable=False, server_default="preferred_username"),
    Column("scope", String(255), nullable=False, server_default="openid email profile"),
    # Comma-separated e-mail domains; '' admits everyone the upstream signs in.
    Column("email_domains", Text, nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "name", name="uq_upstream_providers_tenant_name"),
)

# A user signed in through an upstream, keyed on the upstream's (issuer, sub): never on a name.
federated_identities = Table(
    "federated_identities",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("issuer", String(1024), nullable=False),
    Column("subject", String(255), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("created_at", BigInteger, nullable=False),
    Column("last_login_at", BigInteger, nullable=False),
    UniqueConstraint("tenant_id", "issuer", "subject", name="uq_federated_identities_subject"),
)
Index("ix_federated_identities_user_id", federated_identities.c.user_id)

# One row per upstream sign-in in progress, consumed by its callback. Nothing secret is
# stored: the PKCE verifier and the nonce derive from the browser's cookie, kept as a digest.
upstream_logins = Table(
    "upstream_logins",
    metadata,
    Column("state_digest", String(64), primary_key=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column(
        "upstream_id", Id, ForeignKey("upstream_providers.id", ondelete="CASCADE"), nullable=False
    ),
    Column("browser_digest", String(64), nullable=False),
    Column("next_path", String(2048), nullable=False, server_default=""),
    Column("expires_at", BigInteger, nullable=False),
)
Index("ix_upstream_logins_expires_at", upstream_logins.c.expires_at)

# -- browser sign-in and the authorization code flow (revision 0004) -------------------------
# A signed-in browser: the cookie carries a random id, the row only its digest. Ending a
# session (sign-out, "sign out everywhere") sets ``ended_at``, which every process sees.
browser_sessions = Table(
    "browser_sessions",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("id_digest", String(64), nullable=False, unique=True),
    Column("auth_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("ended_at", BigInteger, nullable=True),
)
Index("ix_browser_sessions_user_id", browser_sessions.c.user_id)
Index("ix_browser_sessions_expires_at", browser_sessions.c.expires_at)

# An authorization code (RFC 6749 section 4.1), digest only, bound to client, redirect URI
# and PKCE challenge. ``used_at`` is set by the one exchange that wins; ``family_id`` names
# the tokens that exchange issued, so that a replay of the code can revoke them.
authorization_codes = Table(
    "authorization_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", Id, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("code_digest", String(64), nullable=False, unique=True),
    Column("redirect_uri", String(2048), nullable=False),
    Column("scope", String(255), nullable=False),
    Column("nonce", String(255), nullable=False, server_default=""),
    Column("code_challenge", String(128), nullable=False),
    Column("code_challenge_method", String(16), nullable=False),
    Column("auth_time", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
    Column("family_id", String(32), nullable=True),
)
Index("ix_authorization_codes_expires_at", authorization_codes.c.expires_at)

# What a user allowed a client (space-separated scopes); only asked again for more.
consents = Table(
    "consents",
    metadata,
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("client_id", Id, ForeignKey("clients.id", ondelete="CASCADE"), primary_key=True),
    Column("scope", String(255), nullable=False),
    Column("granted_at", BigInteger, nullable=False),
)
Index("ix_consents_client_id", consents.c.client_id)

# The audit log (revision 0009): who did what, when, from where. No foreign keys: an entry
# outlives the tenant, user or client it names, so the tenant's code is kept beside its id.
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, nullable=True),
    Column("tenant_code", String(64), nullable=False, server_default=""),
    Column("at", BigInteger, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", String(1024), nullable=False, server_default=""),
    Column("address", String(255), nullable=False, server_default=""),
    Column("detail", Text, nullable=False, server_default="{}"),
)
# ``agave-server audit --tenant T --since ...``: WHERE tenant_code = ? AND at >= ? ORDER BY id.
Index("ix_audit_log_tenant_code_at", audit_log.c.tenant_code, audit_log.c.at)

# Per-tenant tier limits an operator set (``agave-server tiers set``); a tier without a row has
# WSO2 API Manager 2.x's default (services.tiers). ``request_limit`` NULL = unlimited (0006).
tiers = Table(
    "tiers",
    metadata,
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(16), primary_key=True),
    Column("request_limit", Integer, nullable=True),
    Column("period_seconds", Integer, nullable=False),
    Column("updated_at", BigInteger, nullable=False),
)

# The gateway's request counters when Redis is not configured: one row per client (or client
# and API) and fixed window, ``window_start`` aligned to the period (0006).
rate_counters = Table(
    "rate_counters",
    metadata,
    # e.g. "app:<client id>:60", "sub:<client id>:<api id>:60"
    Column("key", String(200), primary_key=True),
    Column("window_start", BigInteger, nullable=False),
    Column("hits", Integer, nullable=False),
)
# RFC 8628 device authorizations (revision 0007): one row per device code, digest only. The
# polling interval lives here so that slow_down's growth holds across processes and workers.
device_codes = Table(
    "device_codes",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("client_id", Id, ForeignKey("clients.id", ondelete="CASCADE"), nullable=False),
    Column("device_digest", String(64), nullable=False, unique=True),
    # Normalised: 8 characters, upper case, no dash.
    Column("user_code", String(16), nullable=False),
    Column("scope", String(255), nullable=False, server_default=""),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("interval", Integer, nullable=False),
    Column("last_poll_ms", BigInteger, nullable=True),
    # pending -> approved | denied; approved -> redeemed (once).
    Column("status", String(16), nullable=False, server_default="pending"),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=True),
    Column("decided_at", BigInteger, nullable=True),
    UniqueConstraint("tenant_id", "user_code", name="uq_device_codes_tenant_user_code"),
)
Index("ix_device_codes_expires_at", device_codes.c.expires_at)
# -- the portal (revision 0008) ----------------------------------------------------------------
# One-time links a tenant admin hands a user to set a new password (only digests stored).
password_resets = Table(
    "password_resets",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=True),
    Column("tenant_id", Id, ForeignKey("tenants.id", ondelete="CASCADE"), nullable=False),
    Column("user_id", Id, ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("created_at", BigInteger, nullable=False),
    Column("expires_at", BigInteger, nullable=False),
    Column("used_at", BigInteger, nullable=True),
)
Index("ix_password_resets_user_id", password_resets.c.user_id)
