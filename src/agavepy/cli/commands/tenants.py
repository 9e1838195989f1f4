"""``agave tenants``: list the tenants and choose the one the session talks to."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING

import click

from agavepy.cli import complete, credentials, output
from agavepy.cli.connect import open_agave
from agavepy.cli.failures import EXIT_USAGE, CliError, with_hint
from agavepy.cli.options import global_options
from agavepy.cli.state import State

if TYPE_CHECKING:
    from agavepy.agave import Agave
    from agavepy.tables import TenantList

TENANT_COLUMNS = (("CODE", "code"), ("NAME", "name"), ("BASE URL", "baseUrl"))
TENANT_FIELDS = (
    ("tenant", "code"),
    ("name", "name"),
    ("base URL", "baseUrl"),
    ("tenants service", "tenantsUrl"),
)
ENV = "AGAVE_TENANTS_API_BASEURL"

tenants_url_option = click.option(
    "--tenants-url",
    metavar="URL",
    help=f"The tenants list's full URL (default: ${ENV}, else http://127.0.0.1:8000/tenants, "
    "the local agave-server's).",
)


@click.group()
def tenants() -> None:
    """List Agave tenants and choose the one to work with.

    \b
    Example:
      agave tenants list
      agave tenants init sd2e
    """


def tenants_source(tenants_url: str | None) -> tuple[str, str]:
    """(the tenants list's URL, where it came from: the option, the variable or the default)."""
    if tenants_url:
        return tenants_url, "--tenants-url"
    if os.environ.get(ENV):
        return os.environ[ENV], ENV
    from agavepy.agave import DEFAULT_TENANTS_URL

    return DEFAULT_TENANTS_URL, "the default"


@contextlib.contextmanager
def asking_tenants_service(tenants_url: str | None) -> Iterator[None]:
    """Turn the tenants service's failures into one line naming the URL and its source."""
    from agavepy.errors import AgaveError, NetworkError

    url, source = tenants_source(tenants_url)
    where = f"{url} ({source})" if source == "the default" else f"{source}={url}"
    try:
        yield
    except NetworkError as exc:
        raise with_hint(
            exc,
            f"start agave-server there, or give the tenants list's URL with --tenants-url URL "
            f"or {ENV} (asked: {where})",
        ) from exc
    except AgaveError as exc:
        if getattr(exc, "status", None) == 404 or "not an Agave response" in str(exc):
            raise with_hint(
                exc,
                f"--tenants-url and {ENV} take the full URL of the tenants list, e.g. "
                f"http://127.0.0.1:8000/tenants, not a base URL (asked: {where})",
            ) from exc
        raise


def _list(ag: Agave, tenants_url: str | None) -> TenantList:
    with asking_tenants_service(tenants_url):
        return ag.tenants.list()


@tenants.command("list")
@tenants_url_option
@global_options
@click.pass_obj
def list_(state: State, tenants_url: str | None) -> None:
    """List the tenants the tenants service knows.

    \b
    Example:
      agave tenants list
      agave tenants list --json | jq -r '.[].code'
    """
    ag = open_agave(state, need_tenant=False, tenants_url=tenants_url)
    found = [t.to_json() for t in _list(ag, tenants_url)]
    output.show_list(state, found, TENANT_COLUMNS, empty="The tenants service lists no tenants.")


@tenants.command("init")
@click.argument("code", required=False, shell_complete=complete.tenant_codes)
@tenants_url_option
@global_options
@click.pass_obj
def init(state: State, code: str | None, tenants_url: str | None) -> None:
    """Start a session on tenant CODE (or on the tenant at -H/--base-url URL).

    Like agave-cli's tenants-init: the tenant becomes the current session in
    ~/.agave; create a client next. Without CODE or URL, on a terminal,
    lists the tenants and asks. Says which tenants service it asked.

    \b
    Example:
      agave tenants init sd2e
      agave tenants init sd2e --tenants-url https://tenants.example.org/tenants
      agave tenants init --base-url https://api.sd2e.org/
    """
    from agavepy.agave import Agave

    lister = open_agave(state, need_tenant=False, tenants_url=tenants_url)
    url, source = tenants_source(tenants_url)
    if not code and not state.base_url:
        code = _ask_tenant(state, lister, tenants_url)
    # A new session: the previous tenant's client and tokens stay saved in config.json.
    ag = Agave(username=state.username, tenants_url=tenants_url, prompt=False)
    with asking_tenants_service(tenants_url):
        known = lister.tenants.list()
        if code:
            tenant = known.find(code)
            if tenant is None:
                raise CliError(
                    f"no tenant {code!r} at {url} ({source}); known tenants: "
                    + (", ".join(known.codes()) or "none")
                    + " (`agave tenants list`)"
                )
            ag.tenant_id, ag.api_server = tenant.code, tenant.base_url
        else:
            ag.api_server = state.base_url
            ag.init()  # the SDK finds the tenant whose base URL this is
            tenant = known.find(str(ag.tenant_id))
    ag.store.save_current_only(ag.session())
    record = {**(tenant.to_json() if tenant else {}), "tenantsUrl": url}
    output.show_record(state, record, TENANT_FIELDS, title="Current tenant")
    if source == "the default":
        output.say(state, f"(the default tenants service; --tenants-url or {ENV} for another)")
    output.say(state, "Next: agave clients create -N NAME")


def _ask_tenant(state: State, ag: Agave, tenants_url: str | None) -> str:
    """No tenant given: show the list and ask (terminal only)."""
    if not credentials.can_prompt():
        raise CliError(
            "no tenant given and stdin is not a terminal; pass a tenant CODE "
            "(`agave tenants list` shows them) or -H/--base-url URL",
            EXIT_USAGE,
        )
    found = [t.to_json() for t in _list(ag, tenants_url)]
    output.show_list(state, found, TENANT_COLUMNS, empty="The tenants service lists no tenants.")
    return credentials.ask("Tenant code")
