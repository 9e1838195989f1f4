"""Every failure becomes one line on stderr (what went wrong; what to do next) and an exit code.

The SDK's errors already say both, but their hints name Python methods
(``clients_create(...)``); here they name the ``agave`` command to run.
With ``--json`` the same error is also written to stdout as the one JSON
document, so a script reading stdout always gets something it can parse.
"""

from __future__ import annotations

import json
import sys
import traceback

import click

from agavepy.cli.state import State

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2

# SDK error class name -> what to do next, in ``agave`` terms.
CLI_HINTS = {
    "NoClientError": "run `agave clients create` first",
    "NoTokenError": "run `agave tokens create` first",
    "TokenExpiredError": "run `agave tokens create`",
    "SessionError": "run `agave tenants init` and `agave clients create` first",
    "NotFoundError": "`agave clients list` shows your clients",
    "AuthenticationError": "check the username and password (-u, --password-stdin)",
    "ClientAuthenticationError": "the session's client may have been deleted or its secret "
    "reset elsewhere; `agave clients reset-secret` or `agave clients create` gives it a new one",
    "MissingValueError": "",  # rewritten from the value's name, see _missing_value_hint
}

# The SDK names constructor parameters; the CLI names its options.
_OPTION_FOR_PARAMETER = {
    "username": "-u/--username or set AGAVE_USERNAME",
    "password": "--password-stdin or set AGAVE_PASSWORD",
    "tenant_id": "a tenant code (`agave tenants init CODE`)",
    "api_server": "-H/--base-url or run `agave tenants init`",
}


class CliError(click.ClickException):
    """A failure found by the CLI itself (a missing value, no session): one line, an exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class MissingInput(CliError):
    """A value the command needs was not given and there is no terminal to ask for it."""

    def __init__(self, what: str, how: str) -> None:
        super().__init__(f"no {what} given and stdin is not a terminal; {how}", EXIT_USAGE)


def _missing_value_hint(exc: Exception) -> str:
    parameter = getattr(exc, "parameter", "")
    for name, how in _OPTION_FOR_PARAMETER.items():
        if name in parameter:
            return f"pass {how}"
    return getattr(exc, "hint", "") or ""


def _agave_error_line(exc: Exception) -> tuple[str, int]:
    """The one line for an SDK error, its hint translated to ``agave`` commands."""
    name = type(exc).__name__
    hint = getattr(exc, "hint", None)
    default = getattr(type(exc), "default_hint", None)
    if name == "MissingValueError":
        hint = _missing_value_hint(exc)
    elif name in CLI_HINTS and (hint is None or hint == default or "(" in hint):
        hint = CLI_HINTS[name]
    text = getattr(exc, "message", str(exc))
    server_message = getattr(exc, "server_message", None)
    if server_message and server_message not in text:
        text += f": {server_message}"
    status = getattr(exc, "status", None)
    if status is not None:
        text += f" (HTTP {status})"
    if hint:
        text += f"; {hint}"
    usage = name == "MissingValueError" or (name == "BadRequestError" and status is None)
    return " ".join(text.split()), EXIT_USAGE if usage else EXIT_FAILED


def describe(exc: BaseException) -> tuple[str, int]:
    """(one line, exit code) for any exception a command let through."""
    if isinstance(exc, click.ClickException):
        return exc.format_message(), exc.exit_code
    from agavepy.errors import AgaveError

    if isinstance(exc, AgaveError):
        return _agave_error_line(exc)
    if isinstance(exc, OSError):
        where = f": {exc.filename}" if exc.filename else ""
        line = f"{exc.strerror or exc}{where}; check the file's permissions and the disk"
        return line, EXIT_FAILED
    return (
        f"internal error ({type(exc).__name__}: {exc}); run again with --debug and report it",
        EXIT_FAILED,
    )


def _emit(line: str, code: int, kind: str, state: State, status: int | None = None) -> int:
    if state.json:
        doc = {"error": {"type": kind, "message": line, "status": status, "exit_code": code}}
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
    click.echo(f"agave: {line}", err=True)
    return code


def report(exc: BaseException, state: State) -> int:
    """Print ``exc`` as one line (plus the traceback with --debug); return the exit code."""
    if state.debug:
        traceback.print_exception(exc, file=sys.stderr)
    line, code = describe(exc)
    return _emit(line, code, type(exc).__name__, state, getattr(exc, "status", None))


def report_usage(exc: click.UsageError, state: State) -> int:
    """A command-line mistake: one line that says where to find help."""
    no_args = getattr(click.exceptions, "NoArgsIsHelpError", ())  # Click 8.2+
    if no_args and isinstance(exc, no_args) and exc.ctx is not None:
        click.echo(exc.ctx.get_help(), err=True)  # a bare group: show what it offers
        return EXIT_USAGE
    where = exc.ctx.command_path if exc.ctx else "agave"
    line = " ".join(f"{exc.format_message()} (see `{where} --help`)".split())
    return _emit(line, EXIT_USAGE, "UsageError", state)
