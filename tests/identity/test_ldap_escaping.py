"""RFC 4514 / RFC 4515 escaping against a real slapd: uids with DN and filter specials are
found exactly (the backend called directly, since such uids cannot be Agave usernames)."""

from __future__ import annotations

import pytest

from agave_server.identity.ldap import (
    LdapDirectory,
    LdapSettings,
    escape_dn_value,
    escape_filter_value,
)
from tests.support.slapd import PEOPLE, READER_DN, READER_PASSWORD, USERS, DirectoryUser, Slapd

ODD = (
    DirectoryUser("star*", "star-pw-1", "star@example.org", "Star", "Asterisk"),
    DirectoryUser("starling", "starling-pw-2", "starling@example.org", "Star", "Ling"),
    DirectoryUser("o,reilly+co", "oreilly-pw-3", "or@example.org", "O", "Reilly"),
    DirectoryUser("par(en)s\\x", "parens-pw-4", "pa@example.org", "Par", "Ens"),
)


@pytest.fixture(scope="module")
def odd_slapd(tmp_path_factory):
    with Slapd(tmp_path_factory.mktemp("odd-slapd"), users=USERS + ODD) as directory:
        yield directory


def _template(directory: Slapd) -> LdapDirectory:
    settings = LdapSettings(url=directory.url, user_dn=f"uid={{username}},{PEOPLE}")
    return LdapDirectory(None, settings)


def _search(directory: Slapd) -> LdapDirectory:
    return LdapDirectory(
        None,
        LdapSettings(
            url=directory.url,
            search_base=PEOPLE,
            bind_dn=READER_DN,
            bind_password=READER_PASSWORD,
        ),
    )


def test_escape_dn_value_follows_rfc4514():
    assert escape_dn_value('a,b+c"d\\e<f>g;h=i') == 'a\\,b\\+c\\"d\\\\e\\<f\\>g\\;h\\=i'
    assert escape_dn_value("#lead") == "\\#lead"
    assert escape_dn_value(" both ") == "\\ both\\ "
    assert escape_dn_value("nul\x00") == "nul\\00"


def test_escape_filter_value_follows_rfc4515():
    assert escape_filter_value("*)(uid=*\\\x00") == "\\2a\\29\\28uid=\\2a\\5c\\00"


@pytest.mark.parametrize("user", ODD, ids=lambda u: u.uid)
def test_special_uids_sign_in_exactly(odd_slapd, user):
    for backend in (_template(odd_slapd), _search(odd_slapd)):
        entry = backend.check_password(user.uid, user.password)
        assert entry is not None, (backend.settings, user.uid)
        assert entry.username == user.uid
        assert entry.email == user.mail


def test_a_wildcard_matches_nobody_else(odd_slapd):
    starling = odd_slapd.user("starling")
    # Unescaped, (uid=star*) would find starling (and star*): escaped it finds star* only.
    assert _search(odd_slapd).check_password("star*", starling.password) is None
    assert _template(odd_slapd).check_password("star*", starling.password) is None
    assert _search(odd_slapd).check_password("*", starling.password) is None


def test_readiness_check_follows_the_directory(tmp_path, odd_slapd):
    """``identity.readiness.ldap_check``: passes with no directory, with one that answers,
    and raises while it is down (what /health/ready reports)."""
    from agave_server.identity.readiness import DirectoryDown, ldap_check
    from agave_server.services.tenants import add as add_tenant
    from agave_server.storage import Database, migrate
    from agave_server.storage.identity_config import save_settings
    from agave_server.storage.records import IdentitySettings

    db = Database(f"sqlite:///{tmp_path / 'ready.db'}")
    try:
        migrate(db)
        check = ldap_check(db)
        assert check() == "no LDAP configured"
        tenant = add_tenant(db, "t", "T", "http://127.0.0.1:9/")
        settings = LdapSettings(url=odd_slapd.url, user_dn=f"uid={{username}},{PEOPLE}")
        save_settings(db, IdentitySettings(tenant.id, ldap=settings.as_dict()))
        assert check() == "1 directories answer"
        odd_slapd.stop()
        try:
            with pytest.raises(DirectoryDown):
                check()
        finally:
            odd_slapd.start()
        assert check() == "1 directories answer"
    finally:
        db.dispose()
