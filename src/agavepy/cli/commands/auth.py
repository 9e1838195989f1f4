"""``agave auth status``: who is logged in, where, how, until when (never a token or secret).

Reads ~/.agave only: the login made by ``agave login``, else the active session.
"""

from __future__ import annotations

from typing import Any

import click

from agavepy.cli import durations, output
from agavepy.cli.connect import open_agave
from agavepy.cli.failures import CliError
from agavepy.cli.options import global_options
from agavepy.cli.state import State

STATUS_FIELDS = (
    ("tenant", "tenant"),
    ("base URL", "base_url"),
    ("username", "username"),
    ("obtained by", "obtained_by"),
    ("client", "client"),
    ("expires", "expires"),
)
HOW = {
    "device": "agave login (device code)",
    "web": "agave login --web (browser)",
}


@click.group()
def auth() -> None:
    """Show how you are signed in.

    \b
    Example:
      agave auth status
    """


@auth.command("status")
@global_options
@click.pass_obj
def status(state: State) -> None:
    """Who is signed in, on which tenant, how, and until when (no secrets printed).

    \b
    Example:
      agave auth status
      agave auth status --json | jq .seconds_left
    """
    ag = open_agave(state, need_tenant=False)
    session = ag.login_session() or ag
    if not session.token:
        raise CliError("not logged in; run `agave login` (or `agave tokens create`)")
    output.show_record(state, _record(session), STATUS_FIELDS, title="Signed in")


def _record(ag: Any) -> dict[str, Any]:
    pair = ag.pair()
    expiry = pair.created_at + pair.expires_in
    left = pair.seconds_left()
    how = ag.session().get("login")
    return {
        "tenant": ag.tenant_id or "",
        "base_url": ag.api_server or "",
        "username": ag.username or "",
        "login": how or "password",
        "obtained_by": HOW.get(how, "password (agave tokens create)"),
        "client": ag.client_name or ag.api_key or "",
        "expires_at": durations.iso8601(expiry),
        "seconds_left": max(0, int(left)),
        "refreshable": bool(pair.refresh_token),
        "expires": f"{durations.local_time(expiry)} ({durations.relative(left)}"
        + (", refreshed automatically)" if pair.refresh_token and left > 0 else ")"),
    }
