"""The server's log: one event per line, JSON or text, each carrying the request id.

``agave-server serve --log-format json|text`` (default: text when stderr is a terminal, JSON
otherwise, i.e. under systemd, a container runtime or a log shipper). Every line of the server
and of uvicorn goes through one formatter; a line written while a request is being served
carries that request's id (``X-Request-ID`` if the client or proxy sent a sane one, else made
here, and echoed in the response), so an error line can be matched to its request.

Request events (``--access-log``) name method, route template, path without its query,
status, duration, tenant, source address and the consumer key or user (only once
authenticated). Nothing here ever writes a header value, a query string, a form field or a
body: passwords, secrets and tokens have no way into the log.
"""

from __future__ import annotations

import contextvars
import itertools
import json
import logging
import os
import re
import sys
import time
from typing import Any

REQUEST_ID: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "agave_request_id", default=None
)
REQUEST_LOGGER = "agave_server.request"
# What a client-supplied X-Request-ID may look like: UUIDs, hex and the usual trace ids.
_SANE_ID = re.compile(rb"[A-Za-z0-9._:@+=-]{1,128}")
# The request event's fields, in the order they are written; nothing else is.
EVENT_FIELDS = (
    "method",
    "route",
    "path",
    "status",
    "duration_ms",
    "tenant",
    "client",
    "user",
    "address",
)


# Unique, not secret: a random per-process prefix and a counter (cheaper than fresh random
# bytes on every request, and ids from one process sort in arrival order).
_ID_PREFIX = os.urandom(6).hex()
_id_counter = itertools.count(1)


def _new_prefix() -> None:
    """A forked child must not repeat its parent's ids."""
    global _ID_PREFIX, _id_counter
    _ID_PREFIX = os.urandom(6).hex()
    _id_counter = itertools.count(1)


os.register_at_fork(after_in_child=_new_prefix)


def new_request_id() -> str:
    """A request id unique across processes and restarts: ``<12 hex digits>-<counter>``."""
    return f"{_ID_PREFIX}-{next(_id_counter):x}"


def request_id_from(header: bytes | None) -> str:
    """The client's ``X-Request-ID`` if it is short and plain, else a new one."""
    if header is not None and _SANE_ID.fullmatch(header):
        return header.decode("ascii")
    return new_request_id()


def current_request_id() -> str | None:
    """The id of the request being served by this task or thread, if any."""
    return REQUEST_ID.get()


class RequestIdFilter(logging.Filter):
    """Stamps every record with the current request id (None outside a request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = REQUEST_ID.get()
        return True


def _timestamp(record: logging.LogRecord) -> str:
    seconds = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
    return f"{seconds}.{int(record.msecs):03d}Z"


def _event_fields(record: logging.LogRecord) -> dict[str, Any]:
    return {k: getattr(record, k) for k in EVENT_FIELDS if getattr(record, k, None) is not None}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, pid, message, request_id, event fields."""

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "time": _timestamp(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "pid": record.process,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            out["request_id"] = request_id
        out.update(_event_fields(record))
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, ensure_ascii=False, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...``; tracebacks follow on their own lines."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_timestamp(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        fields = _event_fields(record)
        request_id = getattr(record, "request_id", None)
        if request_id:
            fields["request_id"] = request_id
        extra = " ".join(f"{k}={v}" for k, v in fields.items() if k not in _IN_TEXT_MESSAGE)
        if extra:
            line = f"{line} {extra}"
        if record.exc_info:
            line = f"{line}\n{self.formatException(record.exc_info)}"
        return line


# Already in the text message of a request event ('"GET /path HTTP/1.1" 200 1.2ms').
_IN_TEXT_MESSAGE = frozenset({"method", "path", "status", "duration_ms", "address"})


def choose_format(explicit: str | None, stream: Any = None) -> str:
    """``explicit`` if given, else text on a terminal and JSON elsewhere."""
    if explicit:
        return explicit
    stream = sys.stderr if stream is None else stream
    try:
        return "text" if stream.isatty() else "json"
    except (AttributeError, ValueError):
        return "json"


def log_config(log_format: str) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` for uvicorn: every logger through one formatter."""
    formatter = JsonFormatter if log_format == "json" else TextFormatter
    handler = {
        "class": "logging.StreamHandler",
        "formatter": "agave",
        "filters": ["request_id"],
        "stream": "ext://sys.stderr",
    }
    logger = {"handlers": ["default"], "level": "INFO", "propagate": False}
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": RequestIdFilter}},
        "formatters": {"agave": {"()": formatter}},
        "handlers": {"default": handler},
        "loggers": {
            "uvicorn": logger,
            "uvicorn.error": {"level": "INFO"},
            "uvicorn.access": logger,
            "agave_server": logger,
        },
        # Everything else (asyncio, libraries' warnings) in the same format, one per line.
        "root": {"handlers": ["default"], "level": "WARNING"},
    }


_request_log = logging.getLogger(REQUEST_LOGGER)


def request_event(
    *,
    method: str,
    route: str,
    path: str,
    http_version: str,
    status: int,
    seconds: float,
    tenant: str | None,
    client: str | None,
    user: str | None,
    address: str | None,
) -> None:
    """Log one answered request (the observability middleware calls it)."""
    duration_ms = round(seconds * 1000, 3)
    _request_log.info(
        '%s - "%s %s HTTP/%s" %d %.1fms',
        address or "-",
        method,
        path,
        http_version,
        status,
        duration_ms,
        extra={
            "method": method,
            "route": route,
            "path": path,
            "status": status,
            "duration_ms": duration_ms,
            "tenant": tenant,
            "client": client,
            "user": user,
            "address": address,
        },
    )
