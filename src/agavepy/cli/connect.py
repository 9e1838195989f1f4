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


def open_agave(
    state: State,
    *,
    with_password: bool = False,
    need_tenant: bool = True,
    tenants_url: str | None = None,
) -> Agave:
    """An ``Agave`` for this command: the saved session, overridden by the options.

    ``with_password`` asks for (or finds) the user's password first: the
    clients service and the password grant need it; nothing else does.
    """
    from agavepy.agave import Agave

    _log_requests(state)
    session = current_session()
    if state.base_url and not same_url(state.base_url, session.get("baseurl")):
        session = {}  # another tenant: the saved client and tokens are not valid there
    base_url = state.base_url or session.get("baseurl") or None
    if need_tenant and not base_url:
        raise CliError(
            "no tenant chosen; run `agave tenants init CODE` or pass -H/--base-url URL",
            EXIT_USAGE,
        )
    username = state.username or os.environ.get("AGAVE_USERNAME") or session.get("username")
    password = None
    if with_password:
        username = credentials.username(state, username)
        password = credentials.password(state)
    ag = Agave(
        api_server=base_url,
        tenant_id=session.get("tenantid") or None,
        username=username or None,
        password=password,
        api_key=session.get("apikey") or None,
        api_secret=session.get("apisecret") or None,
        client_name=session.get("client_name") or store().current_client_name() or None,
        token=session.get("access_token") or None,
        refresh_token=session.get("refresh_token") or None,
        tenants_url=tenants_url,
        prompt=False,
    )
    for key in ("created_at", "expires_in"):
        if session.get(key) not in (None, ""):
            setattr(ag, key, session[key])
    return ag
