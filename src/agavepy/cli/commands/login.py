"""``agave login`` and ``agave logout``: a session without typing a password into a terminal.

``login`` runs the device flow by default (a code to approve in a browser on any device:
made for SSH sessions on login nodes), or with ``--web`` a browser on this machine
(authorization code + PKCE, redirected to a one-shot listener on 127.0.0.1). The session is
saved in ~/.agave in the shared format; afterwards ``agave clients ...`` use its token.
``logout`` revokes the tokens on the server and removes them locally.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click

from agavepy.cli import durations, output
from agavepy.cli.connect import open_agave
from agavepy.cli.failures import EXIT_USAGE, CliError
from agavepy.cli.options import global_options
from agavepy.cli.state import State

if TYPE_CHECKING:
    from agavepy.agave import Agave

EXIT_INTERRUPTED = 130


def _tenant_agave(state: State, tenant: str | None) -> Agave:
    """An Agave on ``--tenant CODE``, else on the session's tenant (or -H URL)."""
    from agavepy.agave import Agave

    current = open_agave(state, need_tenant=False)
    if tenant:
        ag = Agave(tenant_id=tenant, prompt=False)
        ag.init()
        return ag
    if not current.api_server:
        raise CliError(
            "no tenant chosen; pass --tenant CODE (`agave tenants list` shows them)", EXIT_USAGE
        )
    ag = Agave(tenant_id=current.tenant_id, api_server=current.api_server, prompt=False)
    if not ag.tenant_id:
        ag.init()
    return ag


def device_instructions(open_browser: bool) -> Any:
    """The callback that prints the device login's address and code (stderr)."""
    from agavepy import prompts

    def show(authorization: Any) -> None:
        minutes = max(1, round(authorization.expires_in / 60))
        text = prompts.device_login_text(
            authorization.user_code,
            authorization.verification_uri,
            authorization.verification_uri_complete,
            minutes,
        )
        click.echo(text, err=True)
        if open_browser and prompts.open_in_browser(authorization.verification_uri_complete):
            click.echo("(opened your browser)", err=True)

    return show


def _browser_instructions(open_browser: bool) -> Any:
    from agavepy import prompts

    def show(url: str) -> None:
        click.echo(prompts.browser_login_text(url), err=True)
        if open_browser:
            prompts.open_in_browser(url)

    return show


@click.command()
@click.option(
    "-t", "--tenant", metavar="CODE", help="Tenant to log in to (default: the session's)."
)
@click.option("--web", is_flag=True, help="Sign in with a browser on this machine instead.")
@click.option("--no-browser", is_flag=True, help="Never open a browser; just print the address.")
@global_options
@click.pass_obj
def login(state: State, tenant: str | None, web: bool, no_browser: bool) -> None:
    """Log in without typing your password here (device code, or --web).

    Prints an address and a code: open the address on any device (your
    laptop, your phone), sign in there and approve the code. The session is
    saved in ~/.agave for agave, agavepy and agave-cli; `agave clients ...`
    then need no password.

    \b
    Example:
      agave login --tenant sd2e
      agave login --web
    """
    from agavepy import prompts

    ag = _tenant_agave(state, tenant)
    open_browser = not no_browser and prompts.has_display()
    try:
        if web:
            profile = ag.login(web=True, callback=_browser_instructions(open_browser))
        else:
            profile = ag.login(callback=device_instructions(open_browser))
    except KeyboardInterrupt:
        click.echo("\nagave: login cancelled; nothing was saved", err=True)
        raise click.exceptions.Exit(EXIT_INTERRUPTED) from None
    pair = ag.pair()
    expires = pair.created_at + pair.expires_in if pair else 0
    record = {
        "tenant": ag.tenant_id,
        "username": profile.username,
        "login": "web" if web else "device",
        "expires_at": durations.iso8601(expires),
    }
    if state.json:
        output.emit_json(record)
    output.say(
        state,
        f"Logged in to tenant {ag.tenant_id} as {profile.username}. The token is saved in "
        f"{ag.store.dir} and refreshed when needed (it expires {durations.local_time(expires)}).",
    )


@click.command()
@click.option(
    "-t", "--tenant", metavar="CODE", help="Tenant to log out of (default: the session's)."
)
@global_options
@click.pass_obj
def logout(state: State, tenant: str | None) -> None:
    """Revoke the login's tokens on the server and remove them from ~/.agave.

    \b
    Example:
      agave logout
    """
    from agavepy.errors import AgaveError

    ag = open_agave(state, need_tenant=False)
    if tenant and tenant != ag.tenant_id:
        from agavepy.agave import Agave

        ag = Agave(tenant_id=tenant, username=state.username, prompt=False)
    login = ag.login_session()
    if login is None:
        raise CliError(f"not logged in to tenant {ag.tenant_id or '(none)'}; nothing to do")
    who, where = login.username, login.tenant_id
    try:
        ag.logout()
    except AgaveError as err:
        output.warn(state, f"agave: removed locally, but the server did not revoke it: {err}")
        raise click.exceptions.Exit(1) from None
    if state.json:
        output.emit_json({"logged_out": True, "tenant": where, "username": who})
    output.say(state, f"Logged out of tenant {where} ({who}): the tokens are revoked and removed.")
