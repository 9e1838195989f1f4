"""The ``agave`` command line: every SDK operation from the shell.

A thin layer over :mod:`agavepy` with no HTTP code of its own. Start-up time
matters (people type ``agave`` dozens of times a day), so this package imports
only Click up front: the SDK, httpx and Rich are imported inside the command
that needs them.
"""

from __future__ import annotations

from agavepy.cli.main import main

__all__ = ["main"]
