"""``agave whoami``: check the token works by asking the tenant whose it is."""

from __future__ import annotations

import click

from agavepy.cli import output
from agavepy.cli.connect import open_agave
from agavepy.cli.options import global_options
from agavepy.cli.state import State

PROFILE_FIELDS = (
    ("username", "username"),
    ("email", "email"),
    ("first name", "first_name"),
    ("last name", "last_name"),
)


@click.command()
@global_options
@click.pass_obj
def whoami(state: State) -> None:
    """Show the profile of the session's token (GET /profiles/v2/me).

    An expired access token is refreshed first (and the session saved).

    \b
    Example:
      agave whoami
      agave whoami --json | jq -r .email
    """
    ag = open_agave(state)
    if not ag.token:  # e.g. a client just created after `agave login`: ask with the login's
        ag = ag.login_session() or ag
    profile = ag.profile()  # a refreshed token is saved by the SDK
    output.show_record(state, profile.to_json(), PROFILE_FIELDS)
