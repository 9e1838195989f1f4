"""The server's settings: one typed object, read once from the command line and environment.

Nothing here touches the database or the network; it only turns strings into checked values
so that a bad setting fails at start with a message naming the variable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

ENV_PREFIX = "AGAVE_SERVER_"


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names the setting."""


def default_data_dir() -> Path:
    """``$XDG_DATA_HOME/agave-server``, else ``~/.local/share/agave-server``."""
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg) if xdg else Path.home() / ".local" / "share"
    return base / "agave-server"


def normalise_db_url(url: str) -> str:
    """Pick psycopg 3 for PostgreSQL URLs (SQLAlchemy's default driver would be psycopg2)."""
    url = url.strip()
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if url.startswith(("sqlite:", "postgresql+psycopg:")):
        return url
    raise ConfigError(
        f"unsupported database URL {url.split('://')[0]}://...: "
        "use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def _int_env(env: dict[str, str], name: str, default: int, minimum: int) -> int:
    raw = env.get(ENV_PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not an integer") from None
    if value < minimum:
        raise ConfigError(f"{ENV_PREFIX}{name}={value} must be at least {minimum}")
    return value


_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")


def _bool_env(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(ENV_PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ConfigError(
        f"{ENV_PREFIX}{name}={raw!r} is not a boolean: use 1/0, true/false, yes/no, on/off"
    )


def _redis_url(raw: str | None) -> str | None:
    """Unset or empty: no Redis. Otherwise a redis:// (or rediss://, unix://) URL."""
    if raw is None or raw.strip() == "":
        return None
    url = raw.strip()
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise ConfigError(
            f"{ENV_PREFIX}REDIS={url.split('://')[0]}://...: use redis://HOST:PORT/DB "
            "(or rediss:// for TLS, unix:///path/to/socket)"
        )
    return url


# -- operations: metrics allow-list, readiness timeout, log format --------------------------

DEFAULT_METRICS_ALLOW = "127.0.0.0/8,::1/128"
LOG_FORMATS = ("json", "text")


def _metrics_allow(raw: str | None) -> str:
    """CIDRs (comma or space separated) that may read ``/metrics``; checked, kept canonical."""
    import ipaddress

    value = DEFAULT_METRICS_ALLOW if raw is None or raw.strip() == "" else raw
    networks = []
    for item in value.replace(",", " ").split():
        try:
            networks.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            raise ConfigError(
                f"{ENV_PREFIX}METRICS_ALLOW: {item!r} is not an address or CIDR "
                "(e.g. 127.0.0.0/8, 10.0.0.0/8, ::1/128; 'none' is not accepted: "
                "use 127.0.0.1/32 to allow only this host)"
            ) from None
    return ",".join(networks)


def _seconds_env(env: dict[str, str], name: str, default: float, low: float, high: float) -> float:
    raw = env.get(ENV_PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{ENV_PREFIX}{name}={raw!r} is not a number of seconds") from None
    if not low <= value <= high:
        raise ConfigError(f"{ENV_PREFIX}{name}={value:g} must be between {low:g} and {high:g}")
    return value


def log_format(raw: str | None) -> str | None:
    """``json`` or ``text``; None when unset (then the terminal decides)."""
    if raw is None or raw.strip() == "":
        return None
    value = raw.strip().lower()
    if value not in LOG_FORMATS:
        raise ConfigError(f"{ENV_PREFIX}LOG_FORMAT={raw!r}: use json or text")
    return value


DEFAULT_TRUSTED_PROXIES = "127.0.0.1,::1"


def _trusted_proxies(env: dict[str, str]) -> str:
    """Addresses or CIDR networks whose ``X-Forwarded-For``/``-Proto`` the server believes.

    ``AGAVE_SERVER_TRUSTED_PROXIES`` (uvicorn's ``FORWARDED_ALLOW_IPS`` is honoured when it is
    unset); default loopback only. A request from anywhere else is seen as coming from its own
    socket address, whatever headers it sends, so per-address throttles cannot be dodged.
    """
    import ipaddress

    name = ENV_PREFIX + "TRUSTED_PROXIES"
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        raw = env.get("FORWARDED_ALLOW_IPS") or DEFAULT_TRUSTED_PROXIES
        name = "FORWARDED_ALLOW_IPS" if env.get("FORWARDED_ALLOW_IPS") else name
    entries = [e.strip() for e in raw.split(",") if e.strip()]
    for entry in entries:
        if entry == "*":
            continue
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise ConfigError(
                f"{name}: {entry!r} is not an IP address or CIDR network "
                "(e.g. 10.0.0.2, 10.0.0.0/24, ::1; '*' trusts everyone)"
            ) from None
    return ",".join(entries)


@dataclass(frozen=True)
class Settings:
    """Everything the server needs to know; see docs/server.md for each setting."""

    db_url: str
    data_dir: Path
    access_token_lifetime: int = 14400
    refresh_token_lifetime: int = 1209600
    max_body_bytes: int = 65536
    redis_url: str | None = None
    redis_prefix: str = "agave:"
    login_max_failures: int = 20
    login_max_failures_per_address: int = 200
    login_window: int = 300
    tenant_cache_seconds: int = 5
    purge_interval: int = 3600
    access_log: bool = False
    trusted_proxies: str = DEFAULT_TRUSTED_PROXIES
    # How long verifiers may cache a tenant's JWKS (its Cache-Control max-age); a rotated-in
    # signing key is published this long before it signs (oauth/keys.py).
    jwks_max_age: int = 3600
    # Browser sign-in on the tenant's pages: how long a session lasts (absolute, from sign-in).
    session_lifetime: int = 43200
    # OpenID Connect ID tokens: how long one is valid (keys.py keeps a rotated key that long).
    id_token_lifetime: int = 3600
    # argon2id parameters for new password hashes (argon2-cffi's defaults); existing hashes keep
    # verifying with the parameters their PHC string carries, and are re-hashed on next login.
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536
    argon2_parallelism: int = 4
    # Operations (docs/server.md "Metrics, logs, audit, health").
    metrics_allow: str = DEFAULT_METRICS_ALLOW
    ready_timeout: float = 2.0
    log_format: str | None = None
    # RFC 8628: how long a device code and its user code live, and the polling interval.
    device_code_lifetime: int = 600
    device_poll_interval: int = 5

    @property
    def is_sqlite(self) -> bool:
        return self.db_url.startswith("sqlite:")

    @classmethod
    def load(
        cls,
        db: str | None = None,
        data_dir: str | Path | None = None,
        env: dict[str, str] | None = None,
        access_log: bool | None = None,
    ) -> Settings:
        """Command-line values win over ``AGAVE_SERVER_*`` variables, which win over defaults."""
        env = dict(os.environ if env is None else env)
        folder = Path(data_dir or env.get(ENV_PREFIX + "DATA_DIR") or default_data_dir())
        folder = folder.expanduser()
        url = db or env.get(ENV_PREFIX + "DB") or f"sqlite:///{folder / 'agave.db'}"
        max_failures = _int_env(env, "LOGIN_MAX_FAILURES", cls.login_max_failures, 1)
        parallelism = _int_env(env, "ARGON2_PARALLELISM", cls.argon2_parallelism, 1)
        return cls(
            db_url=normalise_db_url(url),
            data_dir=folder,
            access_token_lifetime=_int_env(env, "ACCESS_TOKEN_LIFETIME", 14400, 1),
            refresh_token_lifetime=_int_env(env, "REFRESH_TOKEN_LIFETIME", 1209600, 1),
            max_body_bytes=_int_env(env, "MAX_BODY_BYTES", 65536, 1024),
            redis_url=_redis_url(env.get(ENV_PREFIX + "REDIS")),
            redis_prefix=env.get(ENV_PREFIX + "REDIS_PREFIX") or "agave:",
            login_max_failures=max_failures,
            login_max_failures_per_address=_int_env(
                env, "LOGIN_MAX_FAILURES_PER_ADDRESS", max_failures * 10, 1
            ),
            login_window=_int_env(env, "LOGIN_WINDOW", 300, 1),
            tenant_cache_seconds=_int_env(env, "TENANT_CACHE_SECONDS", 5, 0),
            purge_interval=_int_env(env, "PURGE_INTERVAL", 3600, 0),
            access_log=_bool_env(env, "ACCESS_LOG", False) if access_log is None else access_log,
            trusted_proxies=_trusted_proxies(env),
            jwks_max_age=_int_env(env, "JWKS_MAX_AGE", cls.jwks_max_age, 0),
            session_lifetime=_int_env(env, "SESSION_LIFETIME", cls.session_lifetime, 60),
            id_token_lifetime=_int_env(env, "ID_TOKEN_LIFETIME", cls.id_token_lifetime, 1),
            argon2_time_cost=_int_env(env, "ARGON2_TIME_COST", cls.argon2_time_cost, 1),
            # argon2 needs at least 8 KiB per lane.
            argon2_memory_kib=_int_env(
                env, "ARGON2_MEMORY_KIB", cls.argon2_memory_kib, max(8, 8 * parallelism)
            ),
            argon2_parallelism=parallelism,
            metrics_allow=_metrics_allow(env.get(ENV_PREFIX + "METRICS_ALLOW")),
            ready_timeout=_seconds_env(env, "READY_TIMEOUT", 2.0, 0.1, 60.0),
            log_format=log_format(env.get(ENV_PREFIX + "LOG_FORMAT")),
            device_code_lifetime=_int_env(env, "DEVICE_CODE_LIFETIME", 600, 1),
            device_poll_interval=_int_env(env, "DEVICE_POLL_INTERVAL", 5, 1),
        )

    def as_env(self) -> dict[str, str]:
        """The settings as environment variables, for uvicorn worker processes."""
        out = {
            ENV_PREFIX + "DB": self.db_url,
            ENV_PREFIX + "DATA_DIR": str(self.data_dir),
            ENV_PREFIX + "ACCESS_TOKEN_LIFETIME": str(self.access_token_lifetime),
            ENV_PREFIX + "REFRESH_TOKEN_LIFETIME": str(self.refresh_token_lifetime),
            ENV_PREFIX + "MAX_BODY_BYTES": str(self.max_body_bytes),
            ENV_PREFIX + "LOGIN_MAX_FAILURES": str(self.login_max_failures),
            ENV_PREFIX + "LOGIN_MAX_FAILURES_PER_ADDRESS": str(self.login_max_failures_per_address),
            ENV_PREFIX + "LOGIN_WINDOW": str(self.login_window),
            ENV_PREFIX + "TENANT_CACHE_SECONDS": str(self.tenant_cache_seconds),
            ENV_PREFIX + "PURGE_INTERVAL": str(self.purge_interval),
            ENV_PREFIX + "ACCESS_LOG": "1" if self.access_log else "0",
            ENV_PREFIX + "TRUSTED_PROXIES": self.trusted_proxies,
            ENV_PREFIX + "JWKS_MAX_AGE": str(self.jwks_max_age),
            ENV_PREFIX + "SESSION_LIFETIME": str(self.session_lifetime),
            ENV_PREFIX + "ID_TOKEN_LIFETIME": str(self.id_token_lifetime),
            ENV_PREFIX + "ARGON2_TIME_COST": str(self.argon2_time_cost),
            ENV_PREFIX + "ARGON2_MEMORY_KIB": str(self.argon2_memory_kib),
            ENV_PREFIX + "ARGON2_PARALLELISM": str(self.argon2_parallelism),
            ENV_PREFIX + "METRICS_ALLOW": self.metrics_allow,
            ENV_PREFIX + "READY_TIMEOUT": str(self.ready_timeout),
            ENV_PREFIX + "DEVICE_CODE_LIFETIME": str(self.device_code_lifetime),
            ENV_PREFIX + "DEVICE_POLL_INTERVAL": str(self.device_poll_interval),
        }
        if self.log_format:
            out[ENV_PREFIX + "LOG_FORMAT"] = self.log_format
        if self.redis_url:
            out[ENV_PREFIX + "REDIS"] = self.redis_url
            out[ENV_PREFIX + "REDIS_PREFIX"] = self.redis_prefix
        return out
