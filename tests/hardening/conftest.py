"""Fixtures for the hardening suite: servers with special settings and clients
that connect from other loopback addresses.

Throttling counts failures per source address, and this suite fails on
purpose thousands of times from 127.0.0.1. So its ``server`` (which ``http``,
``user`` and ``new_user`` use here) is its own, with limits nobody reaches;
tests about throttling start servers with small limits and connect from
their own source addresses (``127.0.0.N``: Linux routes all of 127/8 to
loopback).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.support.server import ServerProcess

# Each test that needs a fresh source address takes the next one.
_addresses = (f"127.0.0.{n}" for n in itertools.cycle(range(10, 250)))


@pytest.fixture
def source_address() -> Callable[[], str]:
    """``source_address()`` gives a loopback address no other test used recently."""
    return lambda: next(_addresses)


def client_from(srv: ServerProcess, address: str, **kw) -> httpx.Client:
    """An HTTP client on ``srv`` whose connections come from ``address``."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=srv.base_url, timeout=30, transport=transport, **kw)


UNREACHABLE_LIMITS = {
    "AGAVE_SERVER_LOGIN_MAX_FAILURES": "1000000",
    "AGAVE_SERVER_LOGIN_MAX_FAILURES_PER_ADDRESS": "1000000",
}


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """The hardening suite's own shared server (overrides the suite-wide one)."""
    srv = ServerProcess(tmp_path_factory.mktemp("hardening"), env=UNREACHABLE_LIMITS)
    with srv:
        yield srv


@pytest.fixture(scope="module")
def two_tenants(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server, two tenants told apart by Host: sd2e at 127.0.0.1:P, tacc at localhost:P."""
    srv = ServerProcess(tmp_path_factory.mktemp("two-tenants"))
    srv.admin(
        "tenants", "add", "tacc", "--name", "TACC", "--base-url", f"http://localhost:{srv.port}/"
    )
    with srv:
        yield srv
