"""``agave-server``: the operator's command line (migrate, serve, tenants, users, apis, purge).

Every failure is one line on stderr and exit status 1 (2 for usage errors); no tracebacks.
Secrets are never printed; passwords come from a hidden prompt or ``--password-stdin``.
"""

from __future__ import annotations

import json
import os
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


def _fail(message: str) -> None:
    click.echo(f"agave-server: error: {message}", err=True)
    sys.exit(1)


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


@click.group(cls=OperatorCommands)
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
    """Add a tenant, seed its catalogue with the eleven default APIs, make its signing key."""
    from .services import tenants as service

    tenant = service.add(
        ctx.db, code, name, base_url, contact_name, contact_email, contact_url, keys=ctx.keys
    )
    click.echo(f"tenant {tenant.code} added at {tenant.base_url}")


@tenants.command("update")
@click.argument("code")
@click.option(
    "--access-token-format",
    type=click.Choice(["opaque", "jwt"]),
    default=None,
    help="opaque: base62 strings (the Agave wire's default); jwt: RFC 9068 signed JWTs.",
)
@pass_ctx
def tenants_update(ctx: Ctx, code: str, access_token_format: str | None) -> None:
    """Change a tenant's settings (tokens already issued keep working)."""
    from .services import tenants as service

    tenant = ctx.tenant(code)
    changes = []
    if access_token_format is not None:
        tenant = service.set_access_token_format(ctx.db, tenant, access_token_format)
        changes.append(f"access token format {tenant.access_token_format}")
    if not changes:
        raise click.UsageError("nothing to change: give an option, e.g. --access-token-format")
    click.echo(f"tenant {tenant.code} updated: {', '.join(changes)}")


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
    if from_stdin:
        line = sys.stdin.readline()
        return line[:-1] if line.endswith("\n") else line
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
    click.echo(
        f"key {row.kid} ({row.alg}) added to {tenant.code}: published now, "
        f"signs from {_when(row.signs_from)}"
    )


# -- housekeeping --------------------------------------------------------------------------


@cli.command()
@pass_ctx
def purge(ctx: Ctx) -> None:
    """Delete expired and revoked tokens and stale login-failure counters."""
    from .storage import signing_keys, throttle, tokens

    counts = tokens.purge(ctx.db)
    stale = throttle.purge(ctx.db, ctx.settings.login_window)
    dropped = signing_keys.purge(ctx.db)
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


def main() -> None:
    cli(prog_name="agave-server")
