"""``agave sessions``: the sessions saved in ~/.agave/config.json; switching and forgetting.

Only local files are read and written here; nothing is sent to a server.
A session is one (tenant, user, client) triple, as agavepy 0.9.5 saves it.
"""

from __future__ import annotations

import click

from agavepy.cli import complete, output
from agavepy.cli.connect import store
from agavepy.cli.failures import EXIT_USAGE, CliError
from agavepy.cli.options import global_options
from agavepy.cli.state import State

SESSION_COLUMNS = (
    ("", "marker"),
    ("TENANT", "tenant"),
    ("USERNAME", "username"),
    ("CLIENT", "client_name"),
)


@click.group()
def sessions() -> None:
    """List the saved sessions, switch the current one, forget one.

    \b
    Example:
      agave sessions list
      agave sessions switch my_client
      agave sessions forget old_client
    """


def _records() -> list[dict]:
    """Saved sessions; plus the active one when only ``current`` knows it (agave-cli's)."""
    sessions = store()
    found = [
        {
            "tenant": ref.tenant,
            "username": ref.username,
            "client_name": ref.client_name,
            "current": ref.current,
        }
        for ref in sessions.sessions()
    ]
    current = sessions.load_current()
    if current and not any(r["current"] for r in found):
        # A session only ``current`` knows (agave-cli's); without a key it has no client
        # (a tenant chosen with `tenants init`, or the client was deleted).
        has_client = bool(current.get("apikey"))
        found.append(
            {
                "tenant": str(current.get("tenantid") or ""),
                "username": str(current.get("username") or ""),
                "client_name": (sessions.current_client_name() or "") if has_client else "",
                "current": True,
            }
        )
    return found


def _pick(client: str | None, tenant: str | None, username: str | None) -> dict:
    """The one saved session that the given client, tenant and username pick."""
    wanted = {"client_name": client, "tenant": tenant, "username": username}
    matches = [r for r in _records() if all(r[k] == v for k, v in wanted.items() if v is not None)]
    if not matches:
        raise CliError("no saved session matches; `agave sessions list` shows them", EXIT_USAGE)
    if len(matches) > 1:
        choices = ", ".join(f"{m['tenant']}/{m['username']}/{m['client_name']}" for m in matches)
        raise CliError(
            f"{len(matches)} saved sessions match ({choices}); add -t TENANT, -u USERNAME "
            "or the CLIENT name to pick one",
            EXIT_USAGE,
        )
    return matches[0]


@sessions.command("list")
@global_options
@click.pass_obj
def list_(state: State) -> None:
    """List the saved sessions; `*` marks the current one.

    \b
    Example:
      agave sessions list
    """
    found = _records()
    if state.json:
        output.emit_json(found)
        return
    rows = [{**r, "marker": "*" if r["current"] else ""} for r in found]
    output.show_list(
        state, rows, SESSION_COLUMNS, empty="No saved sessions: run `agave tenants init`."
    )


@sessions.command("switch")
@click.argument("client", required=False, shell_complete=complete.client_names)
@click.option(
    "-t",
    "--tenant",
    metavar="CODE",
    help="Only sessions on this tenant.",
    shell_complete=complete.session_tenants,
)
@global_options
@click.pass_obj
def switch(state: State, client: str | None, tenant: str | None) -> None:
    """Make the saved session of CLIENT (and -t TENANT, -u USERNAME) the current one.

    Give just enough to pick one session: the client's name is often enough.

    \b
    Example:
      agave sessions switch my_client
      agave sessions switch -t sd2e -u bob laptop
    """
    chosen = _pick(client, tenant, state.username)
    if not chosen["client_name"]:
        raise CliError("that session has no client; run `agave clients create -N NAME`", EXIT_USAGE)
    store().switch(chosen["tenant"], chosen["username"], chosen["client_name"])
    chosen["current"] = True
    if state.json:
        output.emit_json(chosen)
    output.say(
        state,
        f"Current session: tenant {chosen['tenant']}, user {chosen['username']}, "
        f"client {chosen['client_name']}.",
    )


@sessions.command("forget")
@click.argument("client", required=False, shell_complete=complete.client_names)
@click.option(
    "-t",
    "--tenant",
    metavar="CODE",
    help="Only sessions on this tenant.",
    shell_complete=complete.session_tenants,
)
@global_options
@click.pass_obj
def forget(state: State, client: str | None, tenant: str | None) -> None:
    """Forget the saved session of CLIENT (and -t TENANT, -u USERNAME): its key and tokens.

    Only the local files change; the client itself stays on the server (`agave clients
    delete` removes it there). Forgetting the current session leaves its tenant chosen.

    \b
    Example:
      agave sessions forget old_client
      agave sessions forget -t sd2e -u bob laptop
    """
    chosen = _pick(client, tenant, state.username)
    saved = store()
    saved.forget(chosen["tenant"], chosen["username"], chosen["client_name"])
    current = saved.load_current()
    if chosen["current"] and current and current.get("apikey"):
        # Known only to ``current`` (agave-cli's session): blank its key and tokens there.
        blank = dict.fromkeys(("apikey", "apisecret", "access_token", "refresh_token"), "")
        saved.save_current_only({**current, **blank})
    if state.json:
        output.emit_json({"forgotten": chosen})
    output.say(
        state,
        f"Forgot the session of client {chosen['client_name'] or '(none)'} "
        f"(tenant {chosen['tenant']}, user {chosen['username']}).",
    )
