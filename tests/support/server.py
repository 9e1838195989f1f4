"""Start the real ``agave-server`` on an ephemeral loopback port for tests.

Tests talk HTTP to this process exactly as users' tools do; nothing here
mocks the server. The helper itself lives in :mod:`devtools.server` (the demo,
the benchmarks and ``scripts/`` use it too, without importing the test tree);
this module keeps the names the tests import.
"""

from __future__ import annotations

from devtools.server import (
    AGAVE,
    AGAVE_SERVER,
    BIN,
    CHEAP_ARGON2,
    PostgresDatabase,
    ServerError,
    ServerProcess,
    free_port,
    production_argon2,
    stop_process_group,
    wait_http,
)

__all__ = [
    "AGAVE",
    "AGAVE_SERVER",
    "BIN",
    "CHEAP_ARGON2",
    "PostgresDatabase",
    "ServerError",
    "ServerProcess",
    "free_port",
    "production_argon2",
    "stop_process_group",
    "wait_http",
]
