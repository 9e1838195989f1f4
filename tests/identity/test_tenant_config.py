"""``agave-server tenants update`` (identity options) and ``tenants show``: what operators
type, what they see, what is refused (one clear line, nothing stored), what is stored."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import create_engine, text

from tests.support.server import ServerProcess

BIND_SECRET = "bind-secret-Zq81x"
CLIENT_SECRET = "client-secret-Vw55k"


@pytest.fixture(scope="module")
def admin(tmp_path_factory) -> ServerProcess:
    srv = ServerProcess(tmp_path_factory.mktemp("config"))  # the CLI only: never started
    yield srv
    srv.close()


def show(srv: ServerProcess, tenant: str = "sd2e") -> dict:
    return json.loads(srv.admin("tenants", "show", tenant, "--json").stdout)


def stored(srv: ServerProcess) -> list:
    """Every identity row of the database, as stored (secrets sealed)."""
    engine = create_engine(srv.db_url)
    try:
        with engine.connect() as conn:
            return [
                tuple(map(str, row))
                for table in ("tenant_identity", "upstream_providers")
                for row in conn.execute(text(f"SELECT * FROM {table} ORDER BY 1"))
            ]
    finally:
        engine.dispose()


def refused(srv: ServerProcess, *args: str) -> str:
    before = stored(srv)
    res = srv.admin("tenants", "update", "sd2e", *args, check=False)
    assert res.returncode != 0, res.stdout
    assert "Traceback" not in res.stderr
    assert stored(srv) == before, "a refused update changed the configuration"
    return res.stderr.strip()


def test_ldap_and_upstream_configuration_is_shown_with_secrets_redacted(admin, tmp_path):
    bind_file = tmp_path / "bind.pw"
    bind_file.write_text(BIND_SECRET + "\n")
    secret_file = tmp_path / "client.secret"
    secret_file.write_text(CLIENT_SECRET + "\n")
    out = admin.admin(
        "tenants",
        "update",
        "sd2e",
        "--ldap-url",
        "ldap://127.0.0.1:1",
        "--ldap-search-base",
        "ou=People,dc=example,dc=org",
        "--ldap-bind-dn",
        "cn=reader,dc=example,dc=org",
        "--ldap-bind-password-file",
        str(bind_file),
        "--ldap-mail-attribute",
        "email",
        "--upstream-oidc",
        "github",
        "--issuer",
        "https://token.actions.example.com",
        "--client-id",
        "agave-sd2e",
        "--client-secret-file",
        str(secret_file),
        "--email-domains",
        "Example.org, uni.example.edu",
    ).stdout
    assert "passwords are checked by local and LDAP" in out
    assert "warning: the LDAP directory at 127.0.0.1:1 does not answer" in out
    callback = f"{admin.base_url}/login/upstream/github/callback"
    assert f"register this redirect URI with it: {callback}" in out

    config = show(admin)
    ldap = config["identity"]["ldap"]
    assert ldap["search_base"] == "ou=People,dc=example,dc=org"
    assert ldap["mail_attribute"] == "email" and ldap["username_attribute"] == "uid"
    assert ldap["bind_password"] == "(set, redacted)"
    (github,) = config["identity"]["upstream_oidc"]
    assert github["client_secret"] == "(set, redacted)"
    assert github["callback_url"] == callback
    assert github["email_domains"] == ["example.org", "uni.example.edu"]
    assert config["tenant"]["issuer"] == admin.base_url
    assert "access_token_format" in config["tenant"]

    text_out = admin.admin("tenants", "show", "sd2e").stdout
    for shown in (callback, "(set, redacted)", "password grant:", "on (local, LDAP)"):
        assert shown in text_out
    for secret in (BIND_SECRET, CLIENT_SECRET):
        assert secret not in text_out and secret not in json.dumps(config)


def test_secrets_are_sealed_in_the_database(admin):
    rows = json.dumps(stored(admin))
    assert "aesgcm1:" in rows
    assert BIND_SECRET not in rows and CLIENT_SECRET not in rows


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("--ldap-url", "http://ldap.example.org"), "Invalid --ldap-url"),
        (("--ldap-user-dn", "uid=x,dc=example,dc=org"), "must contain {username}"),
        (("--ldap-user-dn", "uid={username},dc=x", "--ldap-search-base", "dc=x"), "not both"),
        (("--ldap-ca-file", "/no/such/ca.pem"), "no such file"),
        (("--ldap-bind-password-env", "AGAVE_TEST_UNSET_VAR"), "unset or empty"),
        (("--issuer", "https://x.example.org"), "given without --upstream-oidc NAME"),
        (("--upstream-oidc", "new", "--issuer", "https://x.example.org"), "needs --client-id"),
        (("--upstream-oidc", "github", "--issuer", "http://idp.example.org"), "must use https"),
        (("--upstream-oidc", "github", "--email-domains", "not a domain"), "e-mail domain"),
        (("--remove-upstream-oidc", "nope"), "has no upstream provider nope"),
        # A good change with a bad one: neither is stored.
        (("--no-local-login", "--upstream-oidc", "a b"), "Invalid --upstream-oidc name"),
    ],
)
def test_bad_options_are_refused_whole(admin, args, says):
    message = refused(admin, *args)
    assert message.startswith("agave-server: error:") and says in message, message


def test_password_login_off_and_back(admin):
    out = admin.admin("tenants", "update", "sd2e", "--no-local-login", "--no-ldap").stdout
    assert "local and LDAP login are off, so the password grant" in out
    assert show(admin)["identity"]["password_grant"] is False
    assert "off (no local or LDAP login)" in admin.admin("tenants", "show", "sd2e").stdout
    admin.admin("tenants", "update", "sd2e", "--local-login")
    assert show(admin)["identity"]["password_backends"] == ["local"]


def test_remove_an_upstream(admin, tmp_path):
    secret_file = tmp_path / "s"
    secret_file.write_text("x\n")
    admin.admin(
        "tenants",
        "update",
        "sd2e",
        "--upstream-oidc",
        "temp",
        "--issuer",
        "https://temp.example.org",
        "--client-id",
        "c",
        "--client-secret-file",
        str(secret_file),
    )
    assert "temp" in {u["name"] for u in show(admin)["identity"]["upstream_oidc"]}
    out = admin.admin("tenants", "update", "sd2e", "--remove-upstream-oidc", "temp").stdout
    assert "upstream OIDC provider temp removed" in out
    assert "temp" not in {u["name"] for u in show(admin)["identity"]["upstream_oidc"]}


def test_nothing_to_change_is_a_usage_error(admin):
    res = admin.admin("tenants", "update", "sd2e", check=False)
    assert res.returncode == 2 and "nothing to change" in res.stderr


def test_the_access_token_format_says_when_running_servers_apply_it(admin) -> None:
    out = admin.admin("tenants", "update", "sd2e", "--access-token-format", "jwt").stdout
    assert out.splitlines() == [
        "tenant sd2e updated: access token format jwt",
        "running servers apply it within AGAVE_SERVER_TENANT_CACHE_SECONDS (5 s by default)",
    ]
    res = admin.admin("tenants", "update", "sd2e", "--access-token-format", "paseto", check=False)
    assert res.returncode == 2 and "'paseto' is not one of 'opaque', 'jwt'" in res.stderr
    admin.admin("tenants", "update", "sd2e", "--access-token-format", "opaque")
