"""StartTLS and ldaps against a real slapd with a certificate from a throw-away CA: trusted
with --ldap-ca-file's CA, refused (503, never "wrong password") with another CA."""

from __future__ import annotations

import pytest

from agave_server.errors import ServiceUnavailable
from agave_server.identity.ldap import LdapDirectory, LdapSettings
from tests.support.slapd import PEOPLE, Slapd, make_certificates


@pytest.fixture(scope="module")
def tls_slapd(tmp_path_factory):
    with Slapd(tmp_path_factory.mktemp("tls-slapd"), tls=True) as directory:
        yield directory


def _directory(url: str, ca_file, start_tls: bool = False) -> LdapDirectory:
    settings = LdapSettings(
        url=url, user_dn=f"uid={{username}},{PEOPLE}", start_tls=start_tls, ca_file=str(ca_file)
    )
    return LdapDirectory(None, settings.check())


def test_starttls_with_the_right_ca(tls_slapd):
    alice = tls_slapd.user("alice")
    entry = _directory(tls_slapd.url, tls_slapd.ca_file, start_tls=True).check_password(
        "alice", alice.password
    )
    assert entry is not None and entry.username == "alice"


def test_ldaps_with_the_right_ca(tls_slapd):
    alice = tls_slapd.user("alice")
    directory = _directory(tls_slapd.ldaps_url, tls_slapd.ca_file)
    assert directory.check_password("alice", alice.password) is not None
    assert directory.check_password("alice", "wrong") is None


@pytest.mark.parametrize("use_ldaps", [False, True], ids=["starttls", "ldaps"])
def test_an_untrusted_certificate_is_503_not_wrong_password(tls_slapd, tmp_path, use_ldaps):
    other_ca, _cert, _key = make_certificates(tmp_path / "other")
    url = tls_slapd.ldaps_url if use_ldaps else tls_slapd.url
    directory = _directory(url, other_ca, start_tls=not use_ldaps)
    with pytest.raises(ServiceUnavailable) as refused:
        directory.check_password("alice", tls_slapd.user("alice").password)
    assert "TLS certificate is not trusted" in refused.value.message
