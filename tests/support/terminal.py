"""Programs on a pseudo-terminal with Ctrl-C as a person at a terminal has it."""

from __future__ import annotations

import signal


def interruptible() -> None:
    """``preexec_fn`` for pexpect: SIGINT and SIGQUIT back to their defaults in the child.

    A suite started in the background by a shell without job control (``cmd &`` in a script,
    as some CI runners and ``nohup`` set-ups do) inherits both signals ignored, and Python then
    never turns SIGINT into ``KeyboardInterrupt``: a test of what Ctrl-C does would see the
    program ignore it. A terminal's Ctrl-C is never ignored, so the child starts as it would.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGQUIT, signal.SIG_DFL)
