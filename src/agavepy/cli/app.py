"""The ``agave`` group: global options, ``--version``, and the lazily loaded verbs.

Each verb group lives in its own module under :mod:`agavepy.cli.commands`
and is imported only when it runs (or when help or completion lists it), so
``agave tokens show`` never pays for what ``agave clients`` needs.
"""

from __future__ import annotations

import importlib

import click

from agavepy import __version__
from agavepy.cli.options import global_options

# name -> "module:attribute"; the order here is the order in ``agave --help``.
_COMMANDS = {
    "tenants": "agavepy.cli.commands.tenants:tenants",
    "clients": "agavepy.cli.commands.clients:clients",
    "tokens": "agavepy.cli.commands.tokens:tokens",
    "whoami": "agavepy.cli.commands.whoami:whoami",
    "login": "agavepy.cli.commands.login:login",
    "logout": "agavepy.cli.commands.login:logout",
    "auth": "agavepy.cli.commands.auth:auth",
    "sessions": "agavepy.cli.commands.sessions:sessions",
    "completion": "agavepy.cli.commands.completion:completion",
}

# The Bash agave-cli's verbs, for fingers that know them; not listed in help.
_ALIASES = {
    "tenants-list": "agavepy.cli.commands.tenants:list_",
    "tenants-init": "agavepy.cli.commands.tenants:init",
    "clients-create": "agavepy.cli.commands.clients:create",
    "clients-list": "agavepy.cli.commands.clients:list_",
    "clients-delete": "agavepy.cli.commands.clients:delete",
    "clients-subscriptions-list": "agavepy.cli.commands.clients:subscriptions",
    "auth-tokens-create": "agavepy.cli.commands.tokens:create",
    "auth-tokens-refresh": "agavepy.cli.commands.tokens:refresh",
    "auth-tokens-revoke": "agavepy.cli.commands.tokens:revoke",
    "auth-check": "agavepy.cli.commands.tokens:show",
}


class LazyGroup(click.Group):
    """A group whose subcommands are imported on first use (Click's documented pattern)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(_COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = _COMMANDS.get(cmd_name) or _ALIASES.get(cmd_name)
        if target is None:
            return None
        module_name, attr = target.split(":")
        return getattr(importlib.import_module(module_name), attr)


CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


@click.group(cls=LazyGroup, context_settings=CONTEXT_SETTINGS)
@click.version_option(__version__, "--version", prog_name="agave")
@global_options
def agave() -> None:
    """Manage OAuth clients and tokens on an Agave tenant.

    The session (tenant, user, client, tokens) is kept in ~/.agave
    ($AGAVE_CACHE_DIR), shared with agavepy and the Bash agave-cli.

    \b
    Start here:
      agave login --tenant sd2e
      agave clients create -N my_client -D "my laptop"
      agave whoami
    """
