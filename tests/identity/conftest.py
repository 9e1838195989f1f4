"""Fixtures for the identity tests: a real slapd, and a real server whose tenants use it.

One slapd and one server per module. The server has three tenants, told apart by the Host
header: ``sd2e`` binds straight as ``uid={username},ou=People,...`` (DN template), ``search``
finds users with the service account's search, and ``nopw`` has local and LDAP login off.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.support.server import ServerProcess
from tests.support.slapd import PEOPLE, READER_DN, READER_PASSWORD, Slapd

# The per-account limit is small so that the throttle tests reach it; the per-address one is
# out of reach, since every test here connects from 127.0.0.1.
LIMITS = {
    "AGAVE_SERVER_LOGIN_MAX_FAILURES": "4",
    "AGAVE_SERVER_LOGIN_MAX_FAILURES_PER_ADDRESS": "100000",
}
SEARCH_HOST = "ldap-search.test"
NOPW_HOST = "no-passwords.test"


@pytest.fixture(scope="module")
def slapd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Slapd]:
    with Slapd(tmp_path_factory.mktemp("slapd")) as directory:
        yield directory


def configure_ldap_tenants(srv: ServerProcess, directory: Slapd) -> None:
    """sd2e: DN template; search: service-account search; nopw: no password login at all."""
    srv.admin(
        "tenants",
        "update",
        "sd2e",
        "--ldap-url",
        directory.url,
        "--ldap-user-dn",
        f"uid={{username}},{PEOPLE}",
    )
    password_file = srv.workdir / "reader.pw"
    password_file.write_text(READER_PASSWORD + "\n")
    srv.admin("tenants", "add", "search", "--name", "S", "--base-url", host_url(srv, SEARCH_HOST))
    srv.admin(
        "tenants",
        "update",
        "search",
        "--no-local-login",
        "--ldap-url",
        directory.url,
        "--ldap-search-base",
        PEOPLE,
        "--ldap-search-filter",
        "(&(objectClass=inetOrgPerson)(uid={username}))",
        "--ldap-bind-dn",
        READER_DN,
        "--ldap-bind-password-file",
        str(password_file),
    )
    srv.admin("tenants", "add", "nopw", "--name", "N", "--base-url", host_url(srv, NOPW_HOST))
    srv.admin("tenants", "update", "nopw", "--no-local-login")


def host_url(srv: ServerProcess, host: str) -> str:
    return f"http://{host}:{srv.port}/"


@pytest.fixture(scope="module")
def ldap_server(tmp_path_factory: pytest.TempPathFactory, slapd: Slapd) -> Iterator[ServerProcess]:
    srv = ServerProcess(tmp_path_factory.mktemp("ldap-server"), env=LIMITS)
    try:
        configure_ldap_tenants(srv, slapd)
        srv.start()
        yield srv
    finally:
        srv.close()


def tenant_http(srv: ServerProcess, host: str | None = None) -> httpx.Client:
    """A client of ``srv`` that names the tenant by its Host header (sd2e when None)."""
    headers = {"Host": f"{host}:{srv.port}"} if host else {}
    return httpx.Client(base_url=srv.base_url, headers=headers, timeout=30)
