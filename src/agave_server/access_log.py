"""What the access log may show: method, path and status, never a query string.

Tokens do not belong in URLs, but clients put them there anyway (``?access_token=``); the
log must not turn such a mistake into a leak readable by whoever reads the logs.
"""

from __future__ import annotations

import logging


class DropQueryStrings(logging.Filter):
    """Cut ``?...`` off the path in uvicorn's access-log records."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        # uvicorn.access: (client address, method, path with query, HTTP version, status)
        if isinstance(args, tuple) and len(args) == 5 and isinstance(args[2], str):
            record.args = (args[0], args[1], args[2].split("?", 1)[0], *args[3:])
        return True


def install() -> None:
    """Add the filter once per process (uvicorn builds the app once in each worker)."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, DropQueryStrings) for f in access.filters):
        access.addFilter(DropQueryStrings())
