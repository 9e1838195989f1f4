"""``agave clients``: create, list, show and delete OAuth clients, and their API subscriptions.

Every call here authenticates with the user's username and password (the
clients service uses HTTP Basic), so each command finds or asks for them
first. ``create`` is the one place a consumer secret is ever printed.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import click

from agavepy.cli import credentials, output
from agavepy.cli.connect import open_agave, store, user_auth
from agavepy.cli.failures import EXIT_USAGE, CliError, MissingInput
from agavepy.cli.options import global_options
from agavepy.cli.state import State

if TYPE_CHECKING:
    from agavepy.agave import Agave
    from agavepy.models import Client

TIERS = ("Bronze", "Silver", "Gold", "Unlimited")

CLIENT_COLUMNS = (
    ("NAME", "name"),
    ("DESCRIPTION", "description"),
    ("CONSUMER KEY", "consumerKey"),
    ("TIER", "tier"),
    ("CALLBACK URL", "callbackUrl"),
)
CLIENT_FIELDS = (
    ("name", "name"),
    ("description", "description"),
    ("consumer key", "consumerKey"),
    ("tier", "tier"),
    ("callback URL", "callbackUrl"),
)
CREATED_FIELDS = (*CLIENT_FIELDS[:3], ("consumer secret", "consumerSecret"), *CLIENT_FIELDS[3:])
SUBSCRIPTION_COLUMNS = (
    ("API", "apiName"),
    ("VERSION", "apiVersion"),
    ("PROVIDER", "apiProvider"),
    ("CONTEXT", "apiContext"),
    ("STATUS", "apiStatus"),
    ("TIER", "tier"),
)
SECRET_NOTICE = (
    "The consumer secret is shown only now: the server never returns it again. "
    "It is saved in the session ({path}); keep a copy if you need it elsewhere."
)

client_option = click.option(
    "-N",
    "--name",
    "client_name",
    metavar="CLIENT",
    help="The client (default: the session's client).",
)
version_option = click.option(
    "-V",
    "--api-version",
    "api_version",
    metavar="VERSION",
    help="API version (default: v2).",
)
provider_option = click.option(
    "-P",
    "--api-provider",
    "api_provider",
    metavar="PROVIDER",
    help="API provider (default: admin).",
)


def _fields(client: Client) -> output.Columns:
    """The rows of one client: its post-logout redirect too, when the server has the field."""
    if client.post_logout_redirect_uri is None:
        return CLIENT_FIELDS
    return (*CLIENT_FIELDS, ("post-logout redirect", "postLogoutRedirectUri"))


@click.group()
def clients() -> None:
    """Manage your OAuth clients (the key and secret that tokens are issued to).

    \b
    Example:
      agave clients create -N my_client -D "my laptop"
      agave clients list
    """


def _session_client(client_name: str | None) -> str:
    """The named client, else the session's client, else a clear error."""
    if client_name:
        return client_name
    from_session = store().current_client_name()
    if from_session:
        return from_session
    raise CliError(
        "no client named and the session has none; pass the client's name "
        "(`agave clients list` shows them) or run `agave clients create`",
        EXIT_USAGE,
    )


def _name_the_tenant(ag: Agave) -> None:
    """With only -H URL, find the tenant's code so the session is filed under it.

    A server the tenants service does not list keeps a session without a code.
    """
    from agavepy.errors import AgaveError

    if ag.tenant_id:
        return
    with contextlib.suppress(AgaveError):
        ag.init()


@clients.command("create")
@click.option("-N", "--name", "name", metavar="NAME", help="Client name: letters, digits, _ . -")
@click.option("-D", "--description", default="", help="What the client is for.")
@click.option(
    "-T",
    "--tier",
    type=click.Choice(TIERS, case_sensitive=False),
    default="Unlimited",
    show_default=True,
    help="Rate-limit tier.",
)
@click.option("-C", "--callback-url", default="", metavar="URL", help="OAuth callback URL.")
@click.option("-S", "--save", is_flag=True, hidden=True, help="Kept for agave-cli's fingers.")
@global_options
@click.pass_obj
def create(
    state: State, name: str | None, description: str, tier: str, callback_url: str, save: bool
) -> None:
    """Create a client, print its key and secret once, and save both in the session.

    The new client becomes the session's client (as agave-cli's
    `clients-create -S`); `agave tokens create` uses it next.

    \b
    Example:
      agave clients create -N my_client -D "my laptop"
      echo "$PW" | agave clients create -N ci -u bob --password-stdin --json
    """
    if not name:
        if not credentials.can_prompt():
            raise MissingInput("client name", "pass -N/--name NAME")
        name = credentials.ask("Client name")
    ag = open_agave(state)
    client = ag.clients.create(name, description, tier, callback_url, auth=user_auth(state, ag))
    # The new client becomes the session's; tokens of the previous one are not carried over.
    ag.client_name, ag.api_key = client.name, client.consumer_key
    ag.api_secret = client.consumer_secret
    ag.set_pair(None)
    _name_the_tenant(ag)
    ag.save_configs()
    output.show_record(state, client.to_json(), CREATED_FIELDS, title="Client created")
    output.warn(state, SECRET_NOTICE.format(path=store().current_path))


@clients.command("list")
@global_options
@click.pass_obj
def list_(state: State) -> None:
    """List your clients (never their secrets).

    \b
    Example:
      agave clients list
      agave clients list -u bob --json | jq -r '.[].name'
    """
    ag = open_agave(state)
    found = [c.to_json() for c in ag.clients.list(auth=user_auth(state, ag))]
    empty = "No clients yet: run `agave clients create`."
    output.show_list(state, found, CLIENT_COLUMNS, empty=empty)


@clients.command("show")
@click.argument("name")
@global_options
@click.pass_obj
def show(state: State, name: str) -> None:
    """Show one client (its key, never its secret).

    \b
    Example:
      agave clients show my_client
    """
    ag = open_agave(state)
    client = ag.clients.get(name, auth=user_auth(state, ag))
    output.show_record(state, client.to_json(), _fields(client))


@clients.command("update")
@click.argument("name", required=False)
@click.option("-D", "--description", default=None, help="What the client is for ('' clears it).")
@click.option(
    "-C",
    "--callback-url",
    default=None,
    metavar="URL",
    help="OAuth redirect URI: absolute http(s), no #fragment ('' clears it).",
)
@click.option(
    "-T", "--tier", type=click.Choice(TIERS, case_sensitive=False), help="Rate-limit tier."
)
@click.option(
    "--post-logout-redirect-uri",
    default=None,
    metavar="URL",
    help="Where the tenant may send the browser after logout ('' clears it).",
)
@global_options
@click.pass_obj
def update(
    state: State,
    name: str | None,
    description: str | None,
    callback_url: str | None,
    tier: str | None,
    post_logout_redirect_uri: str | None,
) -> None:
    """Change client NAME (default: the session's client); options not given are kept.

    The key, the secret, the subscriptions and the tokens stay as they are.

    \b
    Example:
      agave clients update my_client -C https://portal.example.org/oauth/callback
      agave clients update my_client -D "lab portal" -T Gold --json
    """
    if all(v is None for v in (description, callback_url, tier, post_logout_redirect_uri)):
        raise CliError(
            "nothing to change; give -D/--description, -C/--callback-url, -T/--tier "
            "or --post-logout-redirect-uri",
            EXIT_USAGE,
        )
    name = _session_client(name)
    ag = open_agave(state)
    client = ag.clients.update(
        name,
        description,
        tier,
        callback_url,
        post_logout_redirect_uri,
        auth=user_auth(state, ag),
    )
    output.show_record(state, client.to_json(), _fields(client), title="Client updated")


RESET_NOTICE = (
    "The new consumer secret is shown only now: the server never returns it again. "
    "The old secret no longer works, and every token issued with it was revoked."
)


@clients.command("reset-secret")
@click.argument("name", required=False)
@global_options
@click.pass_obj
def reset_secret(state: State, name: str | None) -> None:
    """Give client NAME (default: the session's client) a new secret, shown once.

    The old secret stops working, and so does every token issued with it. When
    NAME is the session's client, the session keeps the new secret (run
    `agave tokens create` for a new token); otherwise copy it now.

    \b
    Example:
      agave clients reset-secret my_client
      agave clients reset-secret ci_client --json | jq -r .consumerSecret
    """
    name = _session_client(name)
    ag = open_agave(state)
    client = ag.clients.reset_secret(name, auth=user_auth(state, ag))  # saves it if ours
    fields = (*CREATED_FIELDS, *_fields(client)[len(CLIENT_FIELDS) :])
    output.show_record(state, client.to_json(), fields, title="New client secret")
    output.warn(state, RESET_NOTICE)
    if client.consumer_key and client.consumer_key == ag.api_key:
        output.warn(
            state,
            f"The session ({store().current_path}) now uses the new secret; "
            "run `agave tokens create` for a new token.",
        )


@clients.command("delete")
@click.argument("name", required=False)
@global_options
@click.pass_obj
def delete(state: State, name: str | None) -> None:
    """Delete client NAME (default: the session's client); its tokens stop working.

    \b
    Example:
      agave clients delete my_old_client
    """
    name = _session_client(name)
    ag = open_agave(state)
    ag.clients.delete(name, auth=user_auth(state, ag))
    if name == ag.client_name:  # the session's client is gone: forget its key and tokens
        ag.api_key = ag.api_secret = ""
        ag.set_pair(None)
        ag.store.forget(ag.tenant_id or "", ag.username or "", name)
    if state.json:
        output.emit_json({"deleted": name})
    output.say(state, f"Client {name} deleted.")


@clients.command("subscriptions")
@click.argument("name", required=False)
@global_options
@click.pass_obj
def subscriptions(state: State, name: str | None) -> None:
    """List the APIs client NAME (default: the session's client) is subscribed to.

    \b
    Example:
      agave clients subscriptions
      agave clients subscriptions my_client --json
    """
    name = _session_client(name)
    ag = open_agave(state)
    found = [s.to_json() for s in ag.clients.subscriptions(name, auth=user_auth(state, ag))]
    empty = f"Client {name} has no subscriptions."
    output.show_list(state, found, SUBSCRIPTION_COLUMNS, empty=empty)


@clients.command("subscribe")
@click.argument("api")
@version_option
@provider_option
@client_option
@click.option("--tier", type=click.Choice(TIERS, case_sensitive=False), help="Subscription tier.")
@global_options
@click.pass_obj
def subscribe(
    state: State,
    api: str,
    api_version: str | None,
    api_provider: str | None,
    client_name: str | None,
    tier: str | None,
) -> None:
    """Subscribe a client to API (`*` = every API of the tenant).

    \b
    Example:
      agave clients subscribe PublicKeys -V v2 -P admin
      agave clients subscribe '*' -N my_client
    """
    name = _session_client(client_name)
    ag = open_agave(state)
    added = ag.clients.subscribe(
        name, api, api_version or "v2", api_provider or "admin", tier, auth=user_auth(state, ag)
    )
    output.show_list(
        state, [s.to_json() for s in added], SUBSCRIPTION_COLUMNS, empty="Nothing to add."
    )


@clients.command("unsubscribe")
@click.argument("api")
@version_option
@provider_option
@client_option
@global_options
@click.pass_obj
def unsubscribe(
    state: State,
    api: str,
    api_version: str | None,
    api_provider: str | None,
    client_name: str | None,
) -> None:
    """Unsubscribe a client from API (`*` = every API).

    \b
    Example:
      agave clients unsubscribe Jobs
      agave clients unsubscribe '*' -N my_client
    """
    name = _session_client(client_name)
    ag = open_agave(state)
    ag.clients.unsubscribe(name, api, api_version, api_provider, auth=user_auth(state, ag))
    if state.json:
        output.emit_json(
            {
                "client": name,
                "unsubscribed": {
                    "apiName": api,
                    "apiVersion": api_version,
                    "apiProvider": api_provider,
                },
            }
        )
    output.say(state, f"Client {name} unsubscribed from {api}.")
