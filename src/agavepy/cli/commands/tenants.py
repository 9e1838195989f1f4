"""``agave tenants``: list the tenants and choose the one the session talks to."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from agavepy.cli import credentials, output
from agavepy.cli.connect import open_agave
from agavepy.cli.failures import EXIT_USAGE, CliError
from agavepy.cli.options import global_options
from agavepy.cli.state import State

if TYPE_CHECKING:
    from agavepy.agave import Agave

TENANT_COLUMNS = (("CODE", "code"), ("NAME", "name"), ("BASE URL", "baseUrl"))
TENANT_FIELDS = (("tenant", "code"), ("name", "name"), ("base URL", "baseUrl"))

tenants_url_option = click.option(
    "--tenants-url",
    metavar="URL",
    help="The tenants service (default: $AGAVE_TENANTS_API_BASEURL, else TACC's).",
)


@click.group()
def tenants() -> None:
    """List Agave tenants and choose the one to work with.

    \b
    Example:
      agave tenants list
      agave tenants init sd2e
    """


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
    found = [t.to_json() for t in ag.tenants.list()]
    output.show_list(state, found, TENANT_COLUMNS, empty="The tenants service lists no tenants.")


@tenants.command("init")
@click.argument("code", required=False)
@tenants_url_option
@global_options
@click.pass_obj
def init(state: State, code: str | None, tenants_url: str | None) -> None:
    """Start a session on tenant CODE (or on the tenant at -H/--base-url URL).

    Like agave-cli's tenants-init: the tenant becomes the current session in
    ~/.agave; create a client next. Without CODE or URL, on a terminal,
    lists the tenants and asks.

    \b
    Example:
      agave tenants init sd2e
      agave tenants init --base-url https://api.sd2e.org/
    """
    from agavepy.agave import Agave

    lister = open_agave(state, need_tenant=False, tenants_url=tenants_url)
    if not code and not state.base_url:
        code = _ask_tenant(state, lister)
    # A new session: the previous tenant's client and tokens stay saved in config.json.
    ag = Agave(username=state.username, tenants_url=tenants_url, prompt=False)
    if code:
        tenant = lister.tenants.get(code)
        ag.tenant_id, ag.api_server = tenant.code, tenant.base_url
        record = tenant.to_json()
    else:
        ag.api_server = state.base_url
        ag.init()  # the SDK finds the tenant whose base URL this is
        record = lister.tenants.get(str(ag.tenant_id)).to_json()
    ag.store.save_current_only(ag.session())
    output.show_record(state, record, TENANT_FIELDS, title="Current tenant")
    output.say(state, "Next: agave clients create -N NAME")


def _ask_tenant(state: State, ag: Agave) -> str:
    """No tenant given: show the list and ask (terminal only)."""
    if not credentials.can_prompt():
        raise CliError(
            "no tenant given and stdin is not a terminal; pass a tenant CODE "
            "(`agave tenants list` shows them) or -H/--base-url URL",
            EXIT_USAGE,
        )
    found = [t.to_json() for t in ag.tenants.list()]
    output.show_list(state, found, TENANT_COLUMNS, empty="The tenants service lists no tenants.")
    return credentials.ask("Tenant code")
