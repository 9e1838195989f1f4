"""``agave tokens``: get, refresh, revoke and inspect the session's access token.

``create`` uses the password grant with the session's client; ``refresh``
the refresh-token grant (the server rotates both tokens and the session is
saved); ``show`` reads only the session file and never calls the server;
``introspect`` asks the tenant (RFC 7662) what it thinks of a token.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import click

from agavepy.cli import durations, output
from agavepy.cli.connect import current_session, open_agave, store, user_auth
from agavepy.cli.failures import EXIT_FAILED, EXIT_USAGE, CliError
from agavepy.cli.options import global_options
from agavepy.cli.state import State

TOKEN_FIELDS = (
    ("tenant", "tenant"),
    ("username", "username"),
    ("client", "client_name"),
    ("access token", "access_token"),
    ("refresh token", "refresh_token"),
    ("expires", "expires"),
)


@click.group()
def tokens() -> None:
    """Get, refresh, revoke and show the session's OAuth tokens.

    \b
    Example:
      agave tokens create
      agave tokens show
    """


def _describe(session: dict[str, Any], client_name: str | None) -> dict[str, Any]:
    """The session's token as a record: times as Unix seconds, ISO 8601 and words."""
    from agavepy.models import TokenPair

    pair = TokenPair.from_json(session)
    left = pair.seconds_left()
    expiry = pair.created_at + pair.expires_in
    when = durations.local_time(expiry)
    return {
        "tenant": session.get("tenantid") or "",
        "username": session.get("username") or "",
        "client_name": client_name or "",
        "access_token": pair.access_token,
        "refresh_token": pair.refresh_token,
        "created_at": pair.created_at,
        "expires_in": pair.expires_in,
        "expires_at": durations.iso8601(expiry),
        "expired": left <= 0,
        "seconds_left": max(0, int(left)),
        "expires": (
            f"{when} (expired {durations.span(left)} ago)"
            if left <= 0
            else f"{when} (in {durations.span(left)})"
        ),
    }


def _show_saved(state: State, title: str) -> None:
    """Print the token as now saved in the session."""
    session = current_session()
    record = _describe(session, store().current_client_name())
    if state.json:
        record.pop("expires")  # words that change every second are no stable key
    output.show_record(state, record, TOKEN_FIELDS, title=title)


@tokens.command("create")
@click.option("-S", "--save", is_flag=True, hidden=True, help="Kept for agave-cli's fingers.")
@global_options
@click.pass_obj
def create(state: State, save: bool) -> None:
    """Get a new access token with your username and password (password grant).

    Uses the session's client (`agave clients create` makes one) and saves
    the token in the session.

    \b
    Example:
      agave tokens create
      echo "$PW" | agave tokens create -u bob --password-stdin --json | jq -r .access_token
    """
    ag = open_agave(state)
    ag.require_client()  # before asking for a password that could not be used
    ag.tokens.create(*user_auth(state, ag))  # saves the session
    _show_saved(state, "Token created")


@tokens.command("refresh")
@click.option("-S", "--save", is_flag=True, hidden=True, help="Kept for agave-cli's fingers.")
@global_options
@click.pass_obj
def refresh(state: State, save: bool) -> None:
    """Trade the refresh token for a new access token (and a new refresh token).

    \b
    Example:
      agave tokens refresh
    """
    ag = open_agave(state)
    ag.tokens.refresh(force=True)  # saves the session
    _show_saved(state, "Token refreshed")


@tokens.command("revoke")
@click.argument("token", required=False)
@global_options
@click.pass_obj
def revoke(state: State, token: str | None) -> None:
    """Revoke TOKEN (default: the session's access token) so it stops working.

    \b
    Example:
      agave tokens revoke
      agave tokens revoke 5f2b0c1d9e...
    """
    ag = open_agave(state)
    ag.tokens.revoke(token)
    which = "the given token" if token else "the session's access token"
    if state.json:
        output.emit_json({"revoked": True, "token": "given" if token else "session"})
    output.say(state, f"Revoked {which}.")


@tokens.command("show")
@global_options
@click.pass_obj
def show(state: State) -> None:
    """Show the session's token and when it expires (local time, and how long is left).

    Reads ~/.agave only; nothing is sent to the server.

    \b
    Example:
      agave tokens show
      agave tokens show --json | jq .seconds_left
    """
    session = current_session()
    if not session.get("access_token"):
        raise CliError("the session has no access token; run `agave tokens create`")
    _show_saved(state, "Session token")


INTROSPECTION_FIELDS = (
    ("active", "active"),
    ("username", "username"),
    ("subject", "sub"),
    ("client", "client_id"),
    ("scope", "scope"),
    ("token type", "token_type"),
    ("issued", "issued"),
    ("expires", "expires"),
)
NOT_ACTIVE = (
    "the token is not active: it was revoked or has expired, is not a token of this tenant, "
    "or the session's client may not look at it"
)


def _token_argument(token: str | None) -> str | None:
    """TOKEN as given; ``-`` reads it from stdin's first line (keeps it out of ``ps``)."""
    if token != "-":
        return token
    line = sys.stdin.readline().strip()
    if not line:
        raise CliError("TOKEN is '-' but stdin's first line is empty", EXIT_USAGE)
    return line


@tokens.command("introspect")
@click.argument("token", required=False)
@global_options
@click.pass_obj
def introspect(state: State, token: str | None) -> int:
    """Ask the tenant whether TOKEN (default: the session's access token) is active.

    Uses the tenant's introspection endpoint (RFC 7662) with the session's
    client, so a client sees the tokens it was issued (and a client the
    operator marked as a resource server, every token of its tenant). TOKEN
    `-` reads the token from standard input. Exit 1 when it is not active.

    \b
    Example:
      agave tokens introspect
      agave tokens introspect --json | jq .exp
      echo "$TOKEN" | agave tokens introspect -
    """
    ag = open_agave(state)
    info = ag.tokens.introspect(_token_argument(token))
    if state.json:
        output.emit_json(info.to_json())
    if not info.active:
        if not state.json:
            click.echo(f"agave: {NOT_ACTIVE}", err=True)
        return EXIT_FAILED
    record = info.to_json()
    record["issued"] = "" if info.iat is None else durations.local_time(info.iat)
    record["expires"] = (
        ""
        if info.exp is None
        else f"{durations.local_time(info.exp)} ({durations.relative(info.exp - time.time())})"
    )
    if not state.json:
        output.show_record(state, record, INTROSPECTION_FIELDS, title="Token introspection")
    return 0
