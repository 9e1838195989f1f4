"""The global options, accepted on the ``agave`` group and on every subcommand.

Users of the Bash agave-cli type the options after the verb
(``agave clients list -u bob``), others before it; each option is declared
once here and attached to both places. Values go into the run's
:class:`~agavepy.cli.state.State` instead of the command's arguments, so
commands stay short. Environment variables (``AGAVE_USERNAME``,
``AGAVE_PASSWORD``) are read later, in :mod:`agavepy.cli.credentials`, so an
option always beats the environment wherever it is typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from agavepy.cli.state import State

F = TypeVar("F", bound=Callable[..., Any])


def _store(field: str) -> Callable[[click.Context, click.Parameter, Any], None]:
    """A callback that records an option in the State, only when it was given."""

    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> None:
        if value is None or value is False:
            return
        state = ctx.find_object(State)
        if state is None:  # only when a command is invoked outside ``agave``
            state = ctx.ensure_object(State)
        setattr(state, field, value)

    return callback


def _option(*decls: str, field: str, **kw: Any) -> Callable[[F], F]:
    return click.option(*decls, callback=_store(field), expose_value=False, **kw)


_GLOBAL_OPTIONS: tuple[Callable[[F], F], ...] = (
    _option(
        "-u",
        "--username",
        field="username",
        metavar="NAME",
        help="Tenant username (default: $AGAVE_USERNAME, then the session's user).",
    ),
    _option(
        "-p",
        "--password",
        field="password",
        metavar="PASSWORD",
        help="Password (discouraged: visible to other users; prefer the prompt, "
        "--password-stdin or $AGAVE_PASSWORD).",
    ),
    _option(
        "--password-stdin",
        field="password_stdin",
        is_flag=True,
        help="Read the password from the first line of standard input.",
    ),
    _option(
        "-H",
        "--base-url",
        field="base_url",
        metavar="URL",
        help="Tenant base URL, instead of the session's (e.g. https://api.example.org/).",
    ),
    _option("--json", field="json", is_flag=True, help="Print one JSON document (for scripts)."),
    _option("-q", "--quiet", field="quiet", is_flag=True, help="Print only errors."),
    _option(
        "-v",
        "--verbose",
        field="verbose",
        is_flag=True,
        help="Log each HTTP request to standard error.",
    ),
    _option("--debug", field="debug", is_flag=True, help="Show tracebacks on errors."),
)


def global_options(f: F) -> F:
    """Attach every global option to a command or group."""
    for option in reversed(_GLOBAL_OPTIONS):
        f = option(f)
    return f
