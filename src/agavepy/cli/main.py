"""``agave``'s entry point: run the group, turn every failure into one line and an exit code.

Exit codes: 0 ok, 1 the API, the network or the local files failed,
2 the command line was wrong or a needed value was missing. Tracebacks only
with ``--debug``.
"""

from __future__ import annotations

import os
import sys

import click

from agavepy.cli.state import State

# httpx imports its own command line (Rich, Pygments) at import time, which costs more
# than the rest of httpx; `agave` never uses it. Marked absent before anything here can
# import httpx, so every `agave ... --json` starts without them. (The same as
# agavepy._transport.skip_httpx_cli, written out: importing that module here, with
# urllib.parse and agavepy.errors, was a fifth of `agave --help`'s imports.)
if "httpx" not in sys.modules:
    sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def main(argv: list[str] | None = None) -> int:
    """Run ``agave`` with ``argv`` (default: ``sys.argv[1:]``) and return the exit code."""
    from agavepy.cli.app import agave

    state = State()
    try:
        result = agave.main(args=argv, prog_name="agave", standalone_mode=False, obj=state)
    except click.UsageError as exc:
        from agavepy.cli.failures import report_usage

        return report_usage(exc, state)
    except (click.Abort, KeyboardInterrupt):
        click.echo("\nagave: interrupted", err=True)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 1
    except Exception as exc:  # ClickException too: every failure is one line, see failures.py
        from agavepy.cli.failures import report

        return report(exc, state)
    return result if isinstance(result, int) else 0


def _silence_stdout() -> None:
    """After the reader of a pipe went away, don't let Python complain on exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
