"""The identity options of ``agave-server tenants update`` and the ``tenants show`` output.

Kept apart from cli.py so that the shared ``tenants update`` command only gains one decorator
(``identity_options``) and one call (``apply_identity_options``). Secrets are never taken from
the command line: the LDAP service password comes from a file or an environment variable, the
upstream client secret from a file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from .errors import BadRequest

_OPTIONS: list[Callable] = [
    click.option(
        "--local-login/--no-local-login",
        default=None,
        help="Accept the tenant's local (argon2id) passwords. With neither local nor LDAP "
        "login, the password grant and HTTP Basic with a password are off for the tenant.",
    ),
    click.option("--ldap-url", metavar="URL", help="ldap://HOST:PORT or ldaps://HOST:PORT"),
    click.option(
        "--ldap-user-dn",
        metavar="TEMPLATE",
        help="Bind straight as this DN, e.g. 'uid={username},ou=People,dc=example,dc=org'.",
    ),
    click.option("--ldap-search-base", metavar="DN", help="Find users by a search under DN."),
    click.option(
        "--ldap-search-filter",
        metavar="FILTER",
        help="With --ldap-search-base; default '(uid={username})'.",
    ),
    click.option("--ldap-bind-dn", metavar="DN", help="Service account that searches."),
    click.option(
        "--ldap-bind-password-file",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="Read the service account's password from FILE (first line).",
    ),
    click.option(
        "--ldap-bind-password-env",
        metavar="VAR",
        help="Read the service account's password from the environment variable VAR.",
    ),
    click.option("--ldap-starttls/--no-ldap-starttls", default=None, help="StartTLS on ldap://"),
    click.option(
        "--ldap-ca-file",
        metavar="FILE",
        help="CA certificates (PEM) to verify the directory's TLS certificate with.",
    ),
    click.option("--ldap-username-attribute", metavar="ATTR", help="Default uid."),
    click.option("--ldap-mail-attribute", metavar="ATTR", help="Default mail."),
    click.option("--ldap-first-name-attribute", metavar="ATTR", help="Default givenName."),
    click.option("--ldap-last-name-attribute", metavar="ATTR", help="Default sn."),
    click.option("--ldap-timeout", type=int, metavar="SECONDS", help="Default 5."),
    click.option("--no-ldap", "remove_ldap", is_flag=True, help="Stop using LDAP."),
    click.option(
        "--ldap-check/--no-ldap-check",
        default=True,
        show_default=True,
        help="After a change, bind to the directory once to check it answers.",
    ),
    click.option(
        "--upstream-oidc",
        "upstream",
        metavar="NAME",
        help="Add or change the upstream OpenID Connect provider NAME (login page: "
        "'Sign in with NAME').",
    ),
    click.option("--issuer", metavar="URL", help="With --upstream-oidc: its issuer."),
    click.option("--client-id", metavar="ID", help="With --upstream-oidc."),
    click.option(
        "--client-secret-file",
        metavar="FILE",
        type=click.Path(dir_okay=False),
        help="With --upstream-oidc: the client secret (first line of FILE).",
    ),
    click.option(
        "--username-claim",
        metavar="CLAIM",
        help="With --upstream-oidc: the claim the tenant username comes from "
        "(default preferred_username).",
    ),
    click.option(
        "--email-domains",
        metavar="LIST",
        help="With --upstream-oidc: only users with a verified e-mail address in these "
        "comma-separated domains ('' for anyone).",
    ),
    click.option(
        "--scope", "upstream_scope", metavar="SCOPES", help="Default 'openid email profile'."
    ),
    click.option(
        "--remove-upstream-oidc", "remove_upstream", metavar="NAME", help="Remove an upstream."
    ),
]

IDENTITY_OPTION_NAMES = (
    "local_login",
    "ldap_url",
    "ldap_user_dn",
    "ldap_search_base",
    "ldap_search_filter",
    "ldap_bind_dn",
    "ldap_bind_password_file",
    "ldap_bind_password_env",
    "ldap_starttls",
    "ldap_ca_file",
    "ldap_username_attribute",
    "ldap_mail_attribute",
    "ldap_first_name_attribute",
    "ldap_last_name_attribute",
    "ldap_timeout",
    "remove_ldap",
    "ldap_check",
    "upstream",
    "issuer",
    "client_id",
    "client_secret_file",
    "username_claim",
    "email_domains",
    "upstream_scope",
    "remove_upstream",
)


def identity_options(command: Callable) -> Callable:
    """Add the identity options to a click command (they arrive as keyword arguments)."""
    for option in reversed(_OPTIONS):
        command = option(command)
    return command


def _secret_from_file(path: str, option: str) -> str:
    try:
        text = Path(path).read_text()
    except OSError as err:
        raise BadRequest(f"{option} {path}: {err.strerror or err}") from None
    secret = text.splitlines()[0].strip() if text.strip() else ""
    if not secret:
        raise BadRequest(f"{option} {path}: the file is empty")
    return secret


def _bind_password(options: dict[str, Any]) -> str | None:
    path, var = options.get("ldap_bind_password_file"), options.get("ldap_bind_password_env")
    if path and var:
        raise BadRequest("Give --ldap-bind-password-file or --ldap-bind-password-env, not both")
    if path:
        return _secret_from_file(path, "--ldap-bind-password-file")
    if var:
        value = os.environ.get(var, "")
        if not value:
            raise BadRequest(f"--ldap-bind-password-env {var}: the variable is unset or empty")
        return value
    return None


def _absolute(path: str | None) -> str | None:
    """The server may run in another folder: store the CA file's absolute path."""
    return str(Path(path).resolve()) if path else path


def _ldap_change(options: dict[str, Any]):
    from .services.identity_config import LdapChange

    return LdapChange(
        url=options.get("ldap_url"),
        user_dn=options.get("ldap_user_dn"),
        search_base=options.get("ldap_search_base"),
        search_filter=options.get("ldap_search_filter"),
        bind_dn=options.get("ldap_bind_dn"),
        bind_password=_bind_password(options),
        start_tls=options.get("ldap_starttls"),
        ca_file=_absolute(options.get("ldap_ca_file")),
        username_attribute=options.get("ldap_username_attribute"),
        mail_attribute=options.get("ldap_mail_attribute"),
        first_name_attribute=options.get("ldap_first_name_attribute"),
        last_name_attribute=options.get("ldap_last_name_attribute"),
        timeout=options.get("ldap_timeout"),
    )


def _upstream_flags_without_name(options: dict[str, Any]) -> list[str]:
    flags = {
        "issuer": "--issuer",
        "client_id": "--client-id",
        "client_secret_file": "--client-secret-file",
        "username_claim": "--username-claim",
        "email_domains": "--email-domains",
        "upstream_scope": "--scope",
    }
    return [flag for key, flag in flags.items() if options.get(key) is not None]


def apply_identity_options(db, tenant, options: dict[str, Any]) -> list[str]:
    """Apply the identity options given; the lines to print (nothing when none was given)."""
    from .identity.ldap import LdapDirectory, LdapSettings
    from .services import identity_config as service

    lines: list[str] = []
    change = _ldap_change(options)
    current = service.current_settings(db, tenant)
    settings = service.updated_settings(
        current,
        local_login=options.get("local_login"),
        ldap=change,
        remove_ldap=bool(options.get("remove_ldap")),
    )
    if options.get("upstream") is None and (stray := _upstream_flags_without_name(options)):
        raise BadRequest(
            f"{', '.join(stray)} given without --upstream-oidc NAME: "
            "name the upstream provider they are for"
        )
    secret = None
    if options.get("client_secret_file"):
        secret = _secret_from_file(options["client_secret_file"], "--client-secret-file")
    upstream_change = None
    if options.get("upstream"):
        upstream_change = service.prepare_upstream(
            db,
            tenant,
            options["upstream"],
            issuer=options.get("issuer"),
            client_id=options.get("client_id"),
            client_secret=secret,
            username_claim=options.get("username_claim"),
            domains=options.get("email_domains"),
            scope=options.get("upstream_scope"),
        )
    if options.get("remove_upstream"):
        if options["remove_upstream"] == options.get("upstream"):
            raise BadRequest("--upstream-oidc and --remove-upstream-oidc name the same provider")
        service.require_upstream(db, tenant, options["remove_upstream"])
    # Everything is checked: now store it.
    if settings != current:
        service.update_identity(db, tenant, settings)
        lines.append(_password_summary(tenant, settings))
        if not settings.local_login and not settings.ldap and not service.upstreams(db, tenant):
            lines.append(
                "warning: the tenant has no upstream provider either: nobody can sign in "
                "until you add one (--upstream-oidc NAME ...) or turn a password login back on"
            )
        if settings.ldap and change.given() and options.get("ldap_check", True):
            try:
                LdapDirectory(db, LdapSettings.from_dict(settings.ldap), tenant.id).ping()
                lines.append(f"LDAP directory {settings.ldap['url']} answers")
            except Exception as err:
                lines.append(f"warning: {getattr(err, 'message', err)}")
    if upstream_change is not None:
        upstream = service.save_upstream(db, tenant, upstream_change)
        lines.append(
            f"upstream OIDC provider {upstream.name} ({upstream.issuer}) set for tenant "
            f"{tenant.code}; register this redirect URI with it: "
            f"{service.callback_url(tenant, upstream.name)}"
        )
    if options.get("remove_upstream"):
        service.remove_upstream(db, tenant, options["remove_upstream"])
        lines.append(f"upstream OIDC provider {options['remove_upstream']} removed")
    return lines


def _password_summary(tenant, settings) -> str:
    via = [name for name, on in (("local", settings.local_login), ("LDAP", settings.ldap)) if on]
    if not via:
        return (
            f"tenant {tenant.code}: local and LDAP login are off, so the password grant "
            "(grant_type=password) and HTTP Basic with a password are refused; users sign in "
            "through upstream providers on the login page"
        )
    return f"tenant {tenant.code}: passwords are checked by {' and '.join(via)}"


def show_text(config: dict) -> str:
    """``tenants show`` as aligned text (``--json`` prints ``config`` itself)."""
    t, ident = config["tenant"], config["identity"]
    out = [f"tenant {t['code']}"]
    for key, value in t.items():
        if key != "code":
            out.append(f"  {key + ':':<24}{value}")
    out.append("identity")
    out.append(f"  {'local login:':<24}{'on' if ident['local_login'] else 'off'}")
    grant = (
        "on (" + ", ".join(ident["password_backends"]) + ")"
        if ident["password_grant"]
        else ("off (no local or LDAP login)")
    )
    out.append(f"  {'password grant:':<24}{grant}")
    ldap = ident["ldap"]
    if ldap:
        out.append("  ldap:")
        for key, value in ldap.items():
            if value not in ("", None):
                out.append(f"    {key + ':':<24}{value}")
    else:
        out.append(f"  {'ldap:':<24}none")
    if not ident["upstream_oidc"]:
        out.append(f"  {'upstream oidc:':<24}none")
    for u in ident["upstream_oidc"]:
        out.append(f"  upstream oidc {u['name']}:")
        for key, value in u.items():
            if key == "name":
                continue
            if key == "email_domains":
                value = ", ".join(value) or "(any)"
            out.append(f"    {key + ':':<24}{value}")
    return "\n".join(out)


def show_json(config: dict) -> str:
    return json.dumps(config, indent=2)
