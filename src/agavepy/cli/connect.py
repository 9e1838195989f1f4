"""Build the SDK's ``Agave`` object for a command, from the saved session plus the options.

This is the only module that knows how a command's options map onto the
SDK: the session in ``~/.agave`` (``$AGAVE_CACHE_DIR``) supplies the tenant,
client and tokens; ``-H`` replaces the base URL; ``-u`` and the password
sources (see :mod:`agavepy.cli.credentials`) supply the user's credentials
for the calls that need them. The SDK never prompts on its own here: the
CLI asks, or fails with a one-line error, before anything is sent.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING, Any

from agavepy.cli import credentials
from agavepy.cli.failures import EXIT_USAGE, CliError
from agavepy.cli.state import State

if TYPE_CHECKING:
    from agavepy.agave import Agave
    from agavepy.session import SessionStore


def store() -> SessionStore:
    """The session files (``$AGAVE_CACHE_DIR`` or ``~/.agave``)."""
    from agavepy.session import SessionStore

    return SessionStore()


def _log_requests(state: State) -> None:
    """``-v``: httpx logs one line per request (method, URL, status) on stderr."""
    if state.verbose:
        logging.basicConfig(format="agave: %(message)s")
        logging.getLogger("httpx").setLevel(logging.INFO)


def same_url(a: str | None, b: str | None) -> bool:
    """Base URLs are equal with or without the trailing slash agave-cli keeps."""
    return bool(a) and bool(b) and str(a).rstrip("/") == str(b).rstrip("/")


def current_session() -> dict[str, Any]:
    """The active session's keys (empty when there is none)."""
    return store().load_current() or {}


def open_agave(state: State, *, need_tenant: bool = True, tenants_url: str | None = None) -> Agave:
    """An ``Agave`` on the saved session (if any), with ``-H`` and ``-u`` applied.

    With ``-H`` naming another tenant than the session's, the session's
    client and tokens are left out: they are not valid there.
    """
    from agavepy.agave import Agave

    _log_requests(state)
    sessions = store()
    if sessions.load_current() or sessions.load_config()["current"]:
        ag = Agave.restore(tenants_url=tenants_url, prompt=False)
    else:
        ag = Agave(tenants_url=tenants_url, prompt=False)
    if state.base_url and not same_url(state.base_url, ag.api_server):
        ag = Agave(api_server=state.base_url, tenants_url=tenants_url, prompt=False)
    chosen_user = state.username or os.environ.get("AGAVE_USERNAME")
    if chosen_user:
        ag.username = chosen_user
    if need_tenant and not ag.api_server:
        raise CliError(
            "no tenant chosen; run `agave tenants init CODE` or pass -H/--base-url URL",
            EXIT_USAGE,
        )
    return ag


def account_auth(state: State, ag: Agave) -> Any:
    """How a clients-API call authenticates: a password when one was given (-p,
    --password-stdin, AGAVE_PASSWORD), else the token of ``agave login`` for this tenant
    (and user, with -u), else the password found or asked for as always."""
    password_given = state.password or state.password_stdin or os.environ.get("AGAVE_PASSWORD")
    if not password_given:
        login = ag.login_session()
        if login is not None:
            from agavepy._auth import BearerAuth

            ag.username = login.username
            return BearerAuth(login)
    return user_auth(state, ag)


def user_auth(state: State, ag: Agave) -> tuple[str, str]:
    """The user's (username, password) for HTTP Basic, found or asked for once.

    The username is also set on ``ag`` so a session saved afterwards is
    filed under the user who authenticated.
    """
    username = credentials.username(state, ag.username)
    password = credentials.password(state)
    ag.username = username
    return username, password
