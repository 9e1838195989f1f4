"""Where the user's username and password come from, and the CLI's only prompts.

Order, first found wins: the option (``-u``, ``-p``, ``--password-stdin``),
the environment (``AGAVE_USERNAME``, ``AGAVE_PASSWORD``), the session's
username, then a prompt, but only when stdin is a terminal; otherwise a
one-line error that names the missing value and how to give it. The
password is never written anywhere and never echoed.
"""

from __future__ import annotations

import os
import sys

import click

from agavepy.cli.failures import EXIT_USAGE, CliError, MissingInput
from agavepy.cli.state import State

USERNAME_PROMPT = "API username"
PASSWORD_PROMPT = "API password"


def can_prompt() -> bool:
    """Prompts need a person at a terminal; scripts get an error instead of a hang."""
    return sys.stdin.isatty()


def username(state: State, session_username: str | None = None) -> str:
    """The tenant username for this command."""
    found = state.username or os.environ.get("AGAVE_USERNAME") or session_username
    if found:
        return found
    if not can_prompt():
        raise MissingInput("username", "pass -u/--username NAME or set AGAVE_USERNAME")
    state.username = click.prompt(USERNAME_PROMPT, err=True).strip()
    return state.username


def password(state: State) -> str:
    """The user's password for this command (read or asked for at most once per run)."""
    if state.password:
        _warn_visible_password(state)
        return state.password
    if state.password_read:
        return state.password_read
    if state.password_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise CliError(
                "--password-stdin read an empty line; write the password on stdin's first line",
                EXIT_USAGE,
            )
        state.password_read = line
        return line
    from_env = os.environ.get("AGAVE_PASSWORD")
    if from_env:
        return from_env
    if not can_prompt():
        raise MissingInput(
            "password", "pipe it with --password-stdin, or set AGAVE_PASSWORD, or use -p"
        )
    state.password_read = click.prompt(PASSWORD_PROMPT, hide_input=True, err=True)
    return state.password_read


def _warn_visible_password(state: State) -> None:
    """-p works, but other users can read it in the process list; say so once."""
    if not state.quiet and not state.password_warned:
        state.password_warned = True
        click.echo(
            "agave: warning: -p/--password is visible to other users of this machine; "
            "prefer the prompt or --password-stdin",
            err=True,
        )


def ask(text: str, default: str | None = None) -> str:
    """Ask for a value the command needs (on a terminal only; callers check first)."""
    return click.prompt(text, default=default, err=True).strip()
