"""``agave-server``: the operator's command line (migrate, serve, tenants, users, apis, purge).

Every failure is one line on stderr and exit status 1 (2 for usage errors); no tracebacks.
Ctrl-C is ``agave-server: interrupted`` and exit status 130, as ``agave`` does.
Secrets are never printed; passwords come from a hidden prompt or ``--password-stdin``.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
from typing import Any

import click
from sqlalchemy.exc import OperationalError, ProgrammingError, SQLAlchemyError

from . import __version__
from .config import ConfigError, Settings
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
@pass_ctx
def serve(ctx: Ctx, host: str, port: int, workers: int, access_log: bool | None) -> None:
    """Migrate, then serve HTTP with uvicorn (several worker processes with --workers)."""
    import uvicorn

    from .storage import migrate as run_migrations

    if access_log is not None:
        ctx.access_log = access_log

    _check_can_listen(host, port)
    run_migrations(ctx.db)
    ctx.db.dispose()
    # Worker processes rebuild the settings from the environment (see app.create_app).
    os.environ.update(ctx.settings.as_env())
    uvicorn.run(
        "agave_server.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=True,
        server_header=False,
        log_level="info",
        log_config=_log_config(),
        access_log=ctx.settings.access_log,
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


def _log_config() -> dict:
    """uvicorn's logging, plus the server's own messages (purges, group commit, errors)."""
    import copy

    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["loggers"]["agave_server"] = {
        "handlers": ["default"],
        "level": "INFO",
        "propagate": False,
    }
    return config


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
    """Add a tenant and seed its catalogue with the eleven default APIs."""
    from .services import tenants as service

    tenant = service.add(ctx.db, code, name, base_url, contact_name, contact_email, contact_url)
    click.echo(f"tenant {tenant.code} added at {tenant.base_url}")


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
    click.echo(f"tenant {code} removed")


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
    click.echo(f"password of {username} changed")


@users.command("remove")
@click.argument("username")
@click.option("--tenant", "tenant_code", required=True)
@pass_ctx
def users_remove(ctx: Ctx, username: str, tenant_code: str) -> None:
    """Remove a user, their clients, and every token issued to them."""
    from .services import accounts

    removed = accounts.remove_user(ctx.db, ctx.tenant(tenant_code), username)
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
@pass_ctx
def apis_add(ctx: Ctx, name, tenant_code, api_version, provider, context, is_default) -> None:
    """Add an API to a tenant's catalogue."""
    from .services import validation
    from .storage import apis as store

    tenant = ctx.tenant(tenant_code)
    for field, value in (("API name", name), ("version", api_version), ("provider", provider)):
        if not validation.API_NAME_RE.fullmatch(value):
            raise AgaveError(f"invalid {field} {value!r}: use A-Z a-z 0-9 _ . - (1 to 64)")
    context = context or f"/{name.lower()}/{api_version}"
    try:
        store.add_api(ctx.db, tenant.id, name, api_version, provider, context, is_default)
    except store.DuplicateApi:
        raise AgaveError(f"API {name} {api_version} by {provider} already exists") from None
    click.echo(f"API {name} {api_version} ({provider}, {context}) added to {tenant.code}")


@apis.command("list")
@click.option("--tenant", "tenant_code", required=True)
@pass_ctx
def apis_list(ctx: Ctx, tenant_code: str) -> None:
    """List a tenant's APIs."""
    from .storage import apis as store

    for a in store.list_apis(ctx.db, ctx.tenant(tenant_code).id):
        flag = "default" if a.is_default else ""
        click.echo(f"{a.name:<16} {a.version:<6} {a.provider:<10} {a.context:<24} {flag}")


@apis.command("remove")
@click.argument("name")
@click.option("--tenant", "tenant_code", required=True)
@click.option("--version", "api_version", default="v2", show_default=True)
@click.option("--provider", default="admin", show_default=True)
@pass_ctx
def apis_remove(ctx: Ctx, name, tenant_code, api_version, provider) -> None:
    """Remove an API and every subscription to it."""
    from .storage import apis as store

    if not store.remove_api(ctx.db, ctx.tenant(tenant_code).id, name, api_version, provider):
        raise NotFound(f"no API {name} {api_version} by {provider} in {tenant_code}")
    click.echo(f"API {name} {api_version} removed")


# -- housekeeping --------------------------------------------------------------------------


@cli.command()
@pass_ctx
def purge(ctx: Ctx) -> None:
    """Delete expired and revoked tokens and stale login-failure counters."""
    from .storage import throttle, tokens

    counts = tokens.purge(ctx.db)
    stale = throttle.purge(ctx.db, ctx.settings.login_window)
    click.echo(
        f"removed {counts['removed']} tokens ({counts['revoked_removed']} revoked), "
        f"{counts['remaining']} remain; removed {stale} stale login counters"
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
