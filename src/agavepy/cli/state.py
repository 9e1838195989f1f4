"""What the global options said, shared by the group and every subcommand.

The same options are accepted before and after the subcommand
(``agave -u bob clients list`` and ``agave clients list -u bob``); both
write into one :class:`State`, the last one given wins.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class State:
    """The run's settings, filled in by the global options' callbacks."""

    username: str | None = None
    password: str | None = None
    password_stdin: bool = False
    base_url: str | None = None
    json: bool = False
    quiet: bool = False
    verbose: bool = False
    debug: bool = False
    # Filled in while running: a password read from stdin or a prompt (never from -p),
    # so it is asked for once, and whether the -p warning was shown.
    password_read: str | None = None
    password_warned: bool = False
