"""``agave-server``: the operator's command line (migrate, serve, tenants, users, apis, purge).

Every failure is one line on stderr and exit status 1 (2 for usage errors); no tracebacks.
Ctrl-C is ``agave-server: interrupted`` and exit status 130, as ``agave`` does.
Secrets are never printed; passwords come from a hidden prompt or ``--password-stdin``.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import socket
import sys
from typing import Any

import click
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from . import __version__
from .cli_identity import apply_identity_options, identity_options, show_json, show_text
from .config import ENV_PREFIX, ConfigError, Settings
from .errors import AgaveError, NotFound


class OperatorCommands(click.Group):
    """Turns expected failures into one clear line on stderr."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (ConfigError, AgaveError) as err:
            _fail(getattr(err, "message", str(err)))
        except OperationalError as err:
            reason = str(err.orig).strip().splitlines()[0]
            if "no such table" in reason or "does not exist" in reason:
                _fail(f"the database has no schema yet ({reason}): run `agave-server migrate`")
            _fail(f"cannot use the database: {reason}")
        except ProgrammingError as err:
            reason = str(err.orig).strip().splitlines()[0]
            _fail(f"the database has no schema yet ({reason}): run `agave-server migrate`")
        except SQLAlchemyError as err:
            _fail(f"database error: {str(err).strip().splitlines()[0]}")


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"agave-server: error: {message}", err=True)
    sys.exit(code)


class Ctx:
    """Lazily built settings and database for one command."""

    def __init__(self, db: str | None, data_dir: str | None) -> None:
        self._db = db
        self._data_dir = data_dir
        self._settings: Settings | None = None
        self._database = None
        self.access_log: bool | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            from .security import configure_hashing

            self._settings = Settings.load(self._db, self._data_dir, access_log=self.access_log)
            configure_hashing(self._settings)
        return self._settings

    @property
    def db(self):
        if self._database is None:
            from .storage import Database

            self.settings.data_dir.mkdir(parents=True, exist_ok=True)
            self._database = Database(self.settings.db_url)
        return self._database

    def tenant(self, code: str):
        from .services import tenants

        return tenants.require(self.db, code)

    @property
    def keys(self):
        from .oauth.keys import KeyRing

        return KeyRing(self.db, self.settings)


pass_ctx = click.make_pass_decorator(Ctx)


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


@click.group(cls=OperatorCommands, context_settings=CONTEXT_SETTINGS)
@click.option("--db", metavar="URL", help="Database URL (env AGAVE_SERVER_DB).")
@click.option("--data-dir", metavar="DIR", help="Data directory (env AGAVE_SERVER_DATA_DIR).")
@click.version_option(__version__, prog_name="agave-server")
@click.pass_context
def cli(ctx: click.Context, db: str | None, data_dir: str | None) -> None:
    """Run and administer a self-hosted Agave tenant server."""
    ctx.obj = Ctx(db, data_dir)


@cli.command()
@pass_ctx
def migrate(ctx: Ctx) -> None:
    """Create or upgrade the database schema (safe to run concurrently)."""
    from .storage import migrate as run_migrations
    from .storage.migrate import current_revision

    run_migrations(ctx.db)
    click.echo(f"database at revision {current_revision(ctx.db)}")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 256))
@click.option(
    "--access-log/--no-access-log",
    default=None,
    help="Log one line per request (env AGAVE_SERVER_ACCESS_LOG; default off: it costs about "
    "a third of a bare request, and the proxy in front usually logs).",
)
@click.option(
    "--log-format",
    type=click.Choice(["json", "text"]),
    default=None,
    help="One event per line, as JSON or text (env AGAVE_SERVER_LOG_FORMAT; default text "
    "when stderr is a terminal, JSON otherwise).",
)
@pass_ctx
def serve(
    ctx: Ctx, host: str, port: int, workers: int, access_log: bool | None, log_format: str | None
) -> None:
    """Migrate, then serve HTTP with uvicorn (several worker processes with --workers)."""
    # Before anything imports prometheus-client, which reads the variable once.
    with _metrics_directory():
        _serve(ctx, host, port, workers, access_log, log_format)


def _serve(
    ctx: Ctx, host: str, port: int, workers: int, access_log: bool | None, log_format: str | None
) -> None:
    import uvicorn

    from .logging import choose_format, log_config
    from .storage import migrate as run_migrations

    if access_log is not None:
        ctx.access_log = access_log
    chosen = choose_format(log_format or ctx.settings.log_format)

    _check_can_listen(host, port)
    run_migrations(ctx.db)
    ctx.db.dispose()
    # Worker processes rebuild the settings from the environment (see app.create_app).
    os.environ.update(ctx.settings.as_env())
    os.environ["AGAVE_SERVER_LOG_FORMAT"] = chosen
    uvicorn.run(
        "agave_server.app:served_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        # app.served_app applies the proxy headers itself, after noting the peer address.
        proxy_headers=False,
        server_header=False,
        log_level="info",
        log_config=log_config(chosen),
        # Request events come from the app's own middleware (api/observability.py).
        access_log=False,
        # No route speaks WebSocket: not importing uvicorn's protocol for it saves start-up.
        ws="none",
    )


def _check_can_listen(host: str, port: int) -> None:
    """Fail with one line, before migrating or starting workers, when the port is taken.

    uvicorn would log its start-up lines, then the bind error, and exit 3. The check binds
    as uvicorn does (same address family, SO_REUSEADDR) and closes again at once.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as err:
            if err.errno == errno.EADDRINUSE:
                _fail(
                    f"cannot listen on {host}:{port}: the address is already in use (another "
                    "server?); stop it or choose another --port"
                )
            _fail(f"cannot listen on {host}:{port}: {err.strerror or err}; check --host/--port")


METRICS_DIR_PREFIX = "agave-server-metrics-"


@contextlib.contextmanager
def _metrics_directory():
    """A private directory for this run's Prometheus values, shared by its workers.

    prometheus-client's multiprocess mode keeps each worker's values in files there, so a
    scrape of any worker reports the whole server; it is made fresh for every run (counters
    start at zero with the server, as Prometheus expects) and removed when the server stops,
    also when it stops on SIGTERM/SIGINT (uvicorn re-raises the signal after its graceful
    shutdown; the handler installed here turns it into an exit that runs this cleanup).
    Directories left by runs that were killed outright are removed at the next start.
    """
    import shutil
    import signal
    import tempfile

    _remove_dead_metrics_directories(tempfile.gettempdir())
    folder = tempfile.mkdtemp(prefix=METRICS_DIR_PREFIX)
    previous = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = folder

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    handlers = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
        if previous is None:
            os.environ.pop("PROMETHEUS_MULTIPROC_DIR", None)
        else:
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = previous


def _remove_dead_metrics_directories(tmp: str) -> None:
    """Remove our metrics directories whose every process (named in its files) is gone.

    A running server always has a file of its own (the serving process creates its gauges
    on start), so a directory with files, all of dead processes, belongs to nobody.
    """
    import re
    import shutil
    from pathlib import Path

    pid_of = re.compile(r"_(\d+)\.db$")
    for folder in Path(tmp).glob(METRICS_DIR_PREFIX + "*"):
        try:
            if not folder.is_dir() or folder.stat().st_uid != os.getuid():
                continue
            pids = {int(m.group(1)) for f in folder.iterdir() if (m := pid_of.search(f.name))}
        except OSError:
            continue
        if pids and not any(_process_alive(pid) for pid in pids):
            shutil.rmtree(folder, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- tenants -------------------------------------------------------------------------------


@cli.group()
def tenants() -> None:
    """Tenants served by this server (told apart by the request's Host)."""


@tenants.command("add")
@click.argument("code")
@click.option("--name", required=True, help="Display name, e.g. 'SD2E Tenant'.")
@click.option("--base-url", required=True, help="Public base URL, e.g. https://api.example.org/")
@click.option("--contact-name", default="")
@click.option("--contact-email", default="")
@click.option("--contact-url", default="")
@pass_ctx
def tenants_add(ctx: Ctx, code, name, base_url, contact_name, contact_email, contact_url) -> None:
    """Add a tenant, seed its catalogue with the eleven default APIs, make its signing key."""
    from .services import tenants as service

    tenant = service.add(
        ctx.db, code, name, base_url, contact_name, contact_email, contact_url, keys=ctx.keys
    )
    _audit(ctx, tenant.id, "tenant.add", tenant.code, {"name": name, "base_url": tenant.base_url})
    click.echo(f"tenant {tenant.code} added at {tenant.base_url}")


@tenants.command("update")
@click.argument("code")
@click.option(
    "--access-token-format",
    type=click.Choice(["opaque", "jwt"]),
    default=None,
    help="opaque: base62 strings (the Agave wire's default); jwt: RFC 9068 signed JWTs.",
)
@identity_options
@pass_ctx
def tenants_update(ctx: Ctx, code: str, access_token_format: str | None, **identity) -> None:
    """Change a tenant's settings (tokens already issued keep working), including how its
    users sign in: local passwords, an LDAP directory, upstream OpenID Connect providers."""
    from .identity import secret_box
    from .services import tenants as service

    tenant = ctx.tenant(code)
    secret_box.configure(ctx.settings)  # seals the identity secrets with this data dir's KEK
    # Identity options first: they are all checked before any of them is stored.
    lines = apply_identity_options(ctx.db, tenant, identity)
    changes = []
    if access_token_format is not None:
        tenant = service.set_access_token_format(ctx.db, tenant, access_token_format)
        changes.append(f"access token format {tenant.access_token_format}")
    if not changes and not lines:
        raise click.UsageError(
            "nothing to change: give an option, e.g. --access-token-format or --ldap-url "
            "(see --help)"
        )
    if changes:
        click.echo(f"tenant {tenant.code} updated: {', '.join(changes)}")
        # Each server process keeps tenants for its own cache time, set where it was started.
        default = Settings.tenant_cache_seconds
        click.echo(
            f"running servers apply it within {ENV_PREFIX}TENANT_CACHE_SECONDS "
            f"({default} s by default)"
        )
    _audit(
        ctx,
        tenant.id,
        "tenant.update",
        tenant.code,
        {"access_token_format": access_token_format, "changes": lines + changes},
    )
    for line in lines:
        click.echo(line)


@tenants.command("list")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def tenants_list(ctx: Ctx, as_json: bool) -> None:
    """List tenants, oldest (the default for unknown hosts) first."""
    from .storage.tenants import list_tenants

    rows = list_tenants(ctx.db)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {"code": t.code, "name": t.name, "baseUrl": t.base_url, "id": t.uuid}
                    for t in rows
                ],
                indent=2,
            )
        )
        return
    for t in rows:
        click.echo(f"{t.code:<16} {t.base_url:<40} {t.name}")


@tenants.command("remove")
@click.argument("code")
@pass_ctx
def tenants_remove(ctx: Ctx, code: str) -> None:
    """Remove a tenant with all its users, clients, tokens and APIs."""
    from .storage.tenants import remove_tenant

    if not remove_tenant(ctx.db, code):
        raise NotFound(f"no tenant {code}")
    _audit(ctx, None, "tenant.remove", code, tenant_code=code)
    click.echo(f"tenant {code} removed")


# -- tenants: identity configuration (identity-ops) ------------------------------------------


@tenants.command("show")
@click.argument("code")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def tenants_show(ctx: Ctx, code: str, as_json: bool) -> None:
    """Print a tenant's whole configuration (secrets redacted)."""
    from .services.identity_config import describe

    config = describe(ctx.db, ctx.tenant(code))
    click.echo(show_json(config) if as_json else show_text(config))


# -- users ---------------------------------------------------------------------------------


def _read_password(from_stdin: bool, confirm: bool = True) -> str:
    """One line of stdin with --password-stdin, else a hidden prompt (a terminal only)."""
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
    if not sys.stdin.isatty():
        _fail(
            "no terminal to ask for the password on; pipe it on one line with --password-stdin",
            2,
        )
    return click.prompt("Password", hide_input=True, confirmation_prompt=confirm)


@cli.group()
def users() -> None:
    """Users of a tenant (passwords hashed with argon2id)."""


@users.command("add")
@click.argument("username")
@click.option("--tenant", "tenant_code", required=True, help="Tenant code.")
@click.option("--admin", is_flag=True, help="May use grant_type=admin_password.")
@click.option("--email", default="")
@click.option("--first-name", default="")
@click.option("--last-name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@pass_ctx
def users_add(ctx: Ctx, username, tenant_code, admin, email, first_name, last_name, password_stdin):
    """Add a user (the password is asked for, hidden, unless --password-stdin)."""
    from .services import accounts

    tenant = ctx.tenant(tenant_code)
    password = _read_password(password_stdin)
    accounts.add_user(ctx.db, tenant, username, password, admin, email, first_name, last_name)
    _audit(ctx, tenant.id, "user.add", username, {"admin": admin})
    click.echo(f"user {username} added to tenant {tenant.code}" + (" (admin)" if admin else ""))


@users.command("list")
@click.option("--tenant", "tenant_code", default=None, help="Only this tenant.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def users_list(ctx: Ctx, tenant_code: str | None, as_json: bool) -> None:
    """List users (never their password hashes)."""
    from .storage.tenants import list_tenants
    from .storage.users import list_users

    codes = {t.id: t.code for t in list_tenants(ctx.db)}
    tenant_id = ctx.tenant(tenant_code).id if tenant_code else None
    rows = list_users(ctx.db, tenant_id)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "tenant": codes.get(u.tenant_id),
                        "username": u.username,
                        "admin": u.is_admin,
                        "email": u.email,
                        "first_name": u.first_name,
                        "last_name": u.last_name,
                    }
                    for u in rows
                ],
                indent=2,
            )
        )
        return
    for u in rows:
        flag = "admin" if u.is_admin else ""
        click.echo(f"{codes.get(u.tenant_id, '?'):<12} {u.username:<24} {flag:<6} {u.email}")


@users.command("passwd")
@click.argument("username")
@click.option("--tenant", "tenant_code", required=True)
@click.option("--password-stdin", is_flag=True)
@pass_ctx
def users_passwd(ctx: Ctx, username: str, tenant_code: str, password_stdin: bool) -> None:
    """Set a user's password."""
    from .services import accounts

    tenant = ctx.tenant(tenant_code)
    accounts.require_user(ctx.db, tenant, username)
    accounts.change_password(ctx.db, tenant, username, _read_password(password_stdin))
    _audit(ctx, tenant.id, "user.password", username)
    click.echo(f"password of {username} changed")


@users.command("remove")
@click.argument("username")
@click.option("--tenant", "tenant_code", required=True)
@pass_ctx
def users_remove(ctx: Ctx, username: str, tenant_code: str) -> None:
    """Remove a user, their clients, and every token issued to them."""
    from .services import accounts

    tenant = ctx.tenant(tenant_code)
    removed = accounts.remove_user(ctx.db, tenant, username)
    _audit(ctx, tenant.id, "user.remove", username, {"tokens_revoked": removed})
    click.echo(f"user {username} removed ({removed} tokens revoked)")


# -- apis ----------------------------------------------------------------------------------


@cli.group()
def apis() -> None:
    """A tenant's API catalogue (what clients subscribe to)."""


@apis.command("add")
@click.argument("name")
@click.option("--tenant", "tenant_code", required=True)
@click.option("--version", "api_version", default="v2", show_default=True)
@click.option("--provider", default="admin", show_default=True)
@click.option("--context", default=None, help="Default: /<lower-case name>/<version>.")
@click.option("--default", "is_default", is_flag=True, help="Subscribe new clients to it.")
@click.option(
    "--backend",
    default=None,
    metavar="URL",
    help="http(s)://HOST[:PORT] serving the API's context behind the gateway.",
)
@pass_ctx
def apis_add(ctx: Ctx, name, tenant_code, api_version, provider, context, is_default, backend):
    """Add an API to a tenant's catalogue (with --backend: served through the gateway)."""
    from .services import apis as service

    tenant = ctx.tenant(tenant_code)
    api = service.add(ctx.db, tenant, name, api_version, provider, context, is_default, backend)
    _audit(
        ctx,
        tenant.id,
        "api.add",
        f"{api.name} {api.version} {api.provider}",
        {"context": api.context, "default": api.is_default, "backend": api.backend_url},
    )
    served = f", backend {api.backend_url}" if api.backend_url else ""
    click.echo(
        f"API {api.name} {api.version} ({api.provider}, {api.context}{served}) added to "
        f"{tenant.code}"
    )


@apis.command("update")
@click.argument("name")
@click.option("--tenant", "tenant_code", required=True)
@click.option("--version", "api_version", default="v2", show_default=True)
@click.option("--provider", default="admin", show_default=True)
@click.option("--context", default=None, help="A new context, e.g. /jobs/v2.")
@click.option("--backend", default=None, metavar="URL", help="A new backend ('' = none).")
@click.option("--default/--no-default", "is_default", default=None, help="For new clients.")
@pass_ctx
def apis_update(ctx: Ctx, name, tenant_code, api_version, provider, context, backend, is_default):
    """Change an API's context, backend or default flag (servers see it within seconds)."""
    from .services import apis as service

    tenant = ctx.tenant(tenant_code)
    api = service.update(ctx.db, tenant, name, api_version, provider, context, backend, is_default)
    _audit(
        ctx,
        tenant.id,
        "api.update",
        f"{api.name} {api.version} {api.provider}",
        {"context": api.context, "default": api.is_default, "backend": api.backend_url},
    )
    click.echo(
        f"API {api.name} {api.version} updated: context {api.context}, "
        f"backend {api.backend_url or '(none)'}" + (", default" if api.is_default else "")
    )


@apis.command("list")
@click.option("--tenant", "tenant_code", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def apis_list(ctx: Ctx, tenant_code: str, as_json: bool) -> None:
    """List a tenant's APIs (with their backends, if behind the gateway)."""
    from .storage import apis as store

    rows = store.list_apis(ctx.db, ctx.tenant(tenant_code).id)
    if as_json:
        fields = ("name", "version", "provider", "context", "is_default", "backend_url")
        click.echo(json.dumps([{f: getattr(a, f) for f in fields} for a in rows], indent=2))
        return
    for a in rows:
        flag = "default" if a.is_default else ""
        click.echo(
            f"{a.name:<16} {a.version:<6} {a.provider:<10} {a.context:<24} {flag:<8} "
            f"{a.backend_url}".rstrip()
        )


@apis.command("remove")
@click.argument("name")
@click.option("--tenant", "tenant_code", required=True)
@click.option("--version", "api_version", default="v2", show_default=True)
@click.option("--provider", default="admin", show_default=True)
@pass_ctx
def apis_remove(ctx: Ctx, name, tenant_code, api_version, provider) -> None:
    """Remove an API and every subscription to it."""
    from .storage import apis as store

    tenant = ctx.tenant(tenant_code)
    if not store.remove_api(ctx.db, tenant.id, name, api_version, provider):
        raise NotFound(f"no API {name} {api_version} by {provider} in {tenant_code}")
    _audit(ctx, tenant.id, "api.remove", f"{name} {api_version} {provider}")
    click.echo(f"API {name} {api_version} removed")


# -- tiers ---------------------------------------------------------------------------------


@cli.group()
def tiers() -> None:
    """Rate limits of the tiers (Bronze, Silver, Gold, Unlimited), per tenant."""


@tiers.command("set")
@click.argument("name")
@click.option("--tenant", "tenant_code", required=True)
@click.option(
    "--limit",
    required=True,
    metavar="N/UNIT",
    help="N/second, N/minute or N/hour; 'unlimited'; or 'default' (WSO2's default again).",
)
@pass_ctx
def tiers_set(ctx: Ctx, name: str, tenant_code: str, limit: str) -> None:
    """Set a tier's limit for a tenant (running servers apply it within a few seconds)."""
    from .services import tiers as service
    from .storage import tiers as store

    tenant = ctx.tenant(tenant_code)
    tier = service.tier_name(name)
    parsed = service.parse_limit(limit)
    if parsed is None:
        store.reset(ctx.db, tenant.id, tier)
    else:
        store.set_limit(ctx.db, tenant.id, tier, *parsed)
    now = service.effective_limits(ctx.db, tenant.id)[tier]
    _audit(ctx, tenant.id, "tier.set", tier, {"limit": service.describe(now)})
    origin = " (default)" if now.is_default else ""
    click.echo(f"tier {tier} of {tenant.code}: {service.describe(now)}{origin}")


@tiers.command("list")
@click.option("--tenant", "tenant_code", required=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def tiers_list(ctx: Ctx, tenant_code: str, as_json: bool) -> None:
    """The limit each tier has in a tenant."""
    from .services import tiers as service

    limits = service.effective_limits(ctx.db, ctx.tenant(tenant_code).id)
    if as_json:
        click.echo(
            json.dumps(
                [
                    {
                        "name": t.name,
                        "limit": t.limit,
                        "periodSeconds": t.period,
                        "default": t.is_default,
                    }
                    for t in limits.values()
                ],
                indent=2,
            )
        )
        return
    for t in limits.values():
        origin = "default" if t.is_default else "set"
        click.echo(f"{t.name:<10} {service.describe(t):<16} {origin}")


# -- gateway -------------------------------------------------------------------------------


@cli.group()
def gateway() -> None:
    """The API gateway in front of the tenant (nginx, with this server deciding)."""


@gateway.command("nginx-config")
@click.option("--tenant", "tenant_code", required=True)
@click.option("--listen", required=True, metavar="HOST:PORT", help="Where nginx listens.")
@click.option(
    "--upstream",
    "upstreams",
    multiple=True,
    metavar="HOST:PORT",
    help="A tenant server process (repeat for several; default 127.0.0.1:8000).",
)
@click.option(
    "--auth-url",
    default=None,
    metavar="URL",
    help="The decision endpoint (default: /gateway/decide through the upstreams).",
)
@click.option("--ssl-certificate", default=None, metavar="FILE", help="Serve HTTPS with it.")
@click.option("--ssl-certificate-key", default=None, metavar="FILE")
@pass_ctx
def gateway_nginx_config(
    ctx: Ctx, tenant_code, listen, upstreams, auth_url, ssl_certificate, ssl_certificate_key
) -> None:
    """Print a complete nginx.conf (run it with nginx -p PREFIX -c FILE)."""
    from .gateway_config import Tls, nginx_config
    from .storage import apis as store

    if bool(ssl_certificate) != bool(ssl_certificate_key):
        raise AgaveError("give both --ssl-certificate and --ssl-certificate-key, or neither")
    tenant = ctx.tenant(tenant_code)
    tls = Tls(ssl_certificate, ssl_certificate_key) if ssl_certificate else None
    command = f"agave-server gateway nginx-config --tenant {tenant.code} --listen {listen}"
    command += "".join(f" --upstream {u}" for u in upstreams)
    click.echo(
        nginx_config(
            tenant,
            store.list_apis(ctx.db, tenant.id),
            listen,
            list(upstreams),
            auth_url,
            tls,
            command=command.strip(),
        ),
        nl=False,
    )


# -- clients -------------------------------------------------------------------------------


@cli.group()
def clients() -> None:
    """OAuth clients: what only the operator may change about them."""


@clients.command("set")
@click.argument("name")
@click.option("--tenant", "tenant_code", required=True, help="Tenant code.")
@click.option("--owner", default=None, help="The client's owner (when several have NAME).")
@click.option(
    "--resource-server/--no-resource-server",
    default=None,
    help="May introspect every token of its tenant (RFC 7662), not only its own.",
)
@pass_ctx
def clients_set(ctx: Ctx, name: str, tenant_code: str, owner: str | None, resource_server):
    """Change operator-only settings of a client."""
    from .services import clients as service

    tenant = ctx.tenant(tenant_code)
    if resource_server is None:
        raise click.UsageError("nothing to change: give --resource-server or --no-resource-server")
    client, user = service.set_resource_server(ctx.db, tenant, name, owner, resource_server)
    _audit(
        ctx,
        tenant.id,
        "client.set",
        f"{user.username}/{client.name}",
        {"resource_server": resource_server},
    )
    state = "a resource server" if resource_server else "not a resource server"
    click.echo(f"client {client.name} of {user.username} in {tenant.code} is now {state}")


# -- keys ----------------------------------------------------------------------------------


@cli.group()
def keys() -> None:
    """A tenant's token-signing keys (published at /oauth2/jwks)."""


def _key_status(row, at: int) -> str:
    if row.drop_at is not None and row.drop_at <= at:
        return "dropped"
    if row.signs_from > at:
        return "published, signs from " + _when(row.signs_from)
    if row.retires_at is not None and row.retires_at <= at:
        return "retired, published until " + _when(row.drop_at)
    return "signing"


def _when(t: int | None) -> str:
    import datetime

    if t is None:
        return "-"
    return datetime.datetime.fromtimestamp(t, datetime.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


@keys.command("list")
@click.option("--tenant", "tenant_code", required=True, help="Tenant code.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_ctx
def keys_list(ctx: Ctx, tenant_code: str, as_json: bool) -> None:
    """List the tenant's keys (never the private keys)."""
    from .storage import now
    from .storage import signing_keys as store

    tenant = ctx.tenant(tenant_code)
    ctx.keys.published(tenant)  # a tenant of an older release gets its first key now
    at = now()
    rows = [r for r in store.all_keys(ctx.db, tenant.id) if r.drop_at is None or r.drop_at > at]
    if as_json:
        fields = ("kid", "alg", "created_at", "signs_from", "retires_at", "drop_at")
        out = [{**{f: getattr(r, f) for f in fields}, "status": _key_status(r, at)} for r in rows]
        click.echo(json.dumps(out, indent=2))
        return
    for r in rows:
        click.echo(f"{r.kid:<18} {r.alg:<6} {_key_status(r, at)}")


@keys.command("rotate")
@click.option("--tenant", "tenant_code", required=True, help="Tenant code.")
@click.option("--alg", type=click.Choice(["RS256", "ES256"]), default="RS256", show_default=True)
@pass_ctx
def keys_rotate(ctx: Ctx, tenant_code: str, alg: str) -> None:
    """Add a signing key: published now, signing after one JWKS cache lifetime; the old key
    stays published until every token it signed has expired."""
    tenant = ctx.tenant(tenant_code)
    row = ctx.keys.rotate(tenant, alg)
    _audit(ctx, tenant.id, "key.rotate", row.kid, {"alg": row.alg, "signs_from": row.signs_from})
    click.echo(
        f"key {row.kid} ({row.alg}) added to {tenant.code}: published now, "
        f"signs from {_when(row.signs_from)}"
    )


# -- housekeeping --------------------------------------------------------------------------


@cli.command()
@pass_ctx
def purge(ctx: Ctx) -> None:
    """Delete expired and revoked tokens and stale login-failure counters."""
    from .storage import rate_counters, signing_keys, throttle, tokens

    counts = tokens.purge(ctx.db)
    stale = throttle.purge(ctx.db, ctx.settings.login_window)
    rate_counters.purge(ctx.db)
    dropped = signing_keys.purge(ctx.db)
    _audit(
        ctx,
        None,
        "tokens.purge",
        "",
        {**counts, "login_counters_removed": stale, "signing_keys_dropped": dropped},
    )
    click.echo(
        f"removed {counts['removed']} tokens ({counts['revoked_removed']} revoked), "
        f"{counts['remaining']} remain; removed {stale} stale login counters, "
        f"{dropped} dropped signing keys"
    )
    from .app import purge_browser_state

    sessions, codes = purge_browser_state(ctx.db)
    click.echo(f"removed {sessions} ended browser sessions and {codes} old authorization codes")
    from .storage import device_codes

    click.echo(f"removed {device_codes.purge(ctx.db)} expired device codes")


# -- audit log -----------------------------------------------------------------------------


def _audit(
    ctx: Ctx,
    tenant_id: int | None,
    action: str,
    target: str,
    detail: dict | None = None,
    *,
    tenant_code: str | None = None,
) -> None:
    """Record an operator command in the audit log (services.audit)."""
    from .services import audit

    actor = audit.cli_actor()
    audit.record(
        ctx.db, tenant_id, actor, action, target, audit.LOCAL, detail, tenant_code=tenant_code
    )


@cli.command("audit")
@click.option("--tenant", "tenant_code", default=None, help="Only this tenant (and server-wide).")
@click.option("--since", default=None, help="A duration (30m, 2h, 7d, 1w) or an ISO 8601 time.")
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 1_000_000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON (one array).")
@pass_ctx
def audit_log(ctx: Ctx, tenant_code: str | None, since: str | None, limit: int, as_json: bool):
    """Print the audit log: who did what, when and from where (oldest first)."""
    from .services import audit

    start = audit.parse_since(since) if since else 0
    rows = audit.entries(ctx.db, tenant_code, start, limit)
    if tenant_code and all(e.tenant_code != tenant_code for e in rows):
        from .storage.tenants import get_tenant

        if get_tenant(ctx.db, tenant_code) is None:
            raise NotFound(f"no tenant {tenant_code}, and no audit entries for it")
    if as_json:
        click.echo(json.dumps([audit.as_json(e) for e in rows], indent=2))
        return
    for e in rows:
        detail = "" if e.detail in ("", "{}") else f" {e.detail}"
        click.echo(
            f"{audit.iso_time(e.at)}  {e.tenant_code or '-':<10} {e.actor:<16} {e.address:<15} "
            f"{e.action:<16} {e.target}{detail}"
        )


def main() -> None:
    """Run the group; Ctrl-C (or end of input at a prompt) exits 130 with one line."""
    try:
        result = cli.main(prog_name="agave-server", standalone_mode=False)
    except click.ClickException as err:
        err.show()
        sys.exit(err.exit_code)
    except (click.Abort, KeyboardInterrupt, EOFError):
        click.echo("\nagave-server: interrupted", err=True)
        sys.exit(130)
    # ctx.exit(N) comes back as N (commands themselves return nothing).
    sys.exit(result if isinstance(result, int) else 0)
