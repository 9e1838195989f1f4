"""Every question the SDK asks a person, in one place, worded as in the seed.

A prompt is only shown when standard input is a terminal and the caller
allows prompting; otherwise a :class:`MissingValueError` names the value and
the parameter or environment variable that supplies it, so a script fails
at once instead of hanging. Passwords are read without echo and never kept
by this module.
"""

from __future__ import annotations

import getpass
import sys
from typing import Any

from agavepy.errors import BadRequestError, MissingValueError

USERNAME = "API username: "
PASSWORD = "API password: "
TENANT = "\nPlease specify the ID for the tenant you wish to interact with: "


def can_prompt() -> bool:
    """True when a person can answer: standard input is a terminal, or a front end
    (a Jupyter kernel) has replaced ``input``/``getpass`` with its own prompts."""
    if getattr(getpass.getpass, "__module__", "getpass") != "getpass":
        return True
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (AttributeError, ValueError):  # closed or replaced stdin
        return False


def _require_terminal(allowed: bool, what: str, parameter: str, env: str | None) -> None:
    if not (allowed and can_prompt()):
        raise MissingValueError(what, parameter, env)


def ask_username(allowed: bool = True) -> str:
    """``API username: `` (echoed)."""
    _require_terminal(allowed, "API username", "username", "AGAVE_USERNAME")
    answer = input(USERNAME).strip()
    if not answer:
        raise BadRequestError("empty API username", hint="type your username at the prompt")
    return answer


def ask_username_or_keep(current: str, allowed: bool = True) -> str:
    """``API username: `` where an empty answer keeps ``current``."""
    _require_terminal(allowed, "API username", "username", "AGAVE_USERNAME")
    return input(USERNAME).strip() or current


def ask_password(allowed: bool = True) -> str:
    """``API password: `` without echo."""
    _require_terminal(allowed, "API password", "password", "AGAVE_PASSWORD")
    answer = getpass.getpass(PASSWORD)
    if not answer:
        raise BadRequestError("empty API password", hint="type your password at the prompt")
    return answer


def ask_tenant(allowed: bool = True) -> str:
    """Which tenant (by ID) after the tenants table was shown."""
    _require_terminal(allowed, "tenant ID", "tenant_id", None)
    return input(TENANT).strip()


def device_login_text(
    user_code: str, verification_uri: str, complete_uri: str, minutes: int
) -> str:
    """What a person reads to approve a device login (the CLI prints the same words)."""
    return (
        "To sign in, open this page in a browser, on this or any other device:\n\n"
        f"    {verification_uri}\n\n"
        f"and enter the code:  {user_code}\n\n"
        f"(or open {complete_uri} )\n"
        "Only continue if you started this login yourself. "
        f"The code expires in {minutes} minutes.\n"
        "Waiting for approval..."
    )


def show_device_login(authorization: Any) -> None:
    """Print the device login's instructions (``Agave.login()``'s default callback)."""
    minutes = max(1, round(authorization.expires_in / 60))
    print(
        device_login_text(
            authorization.user_code,
            authorization.verification_uri,
            authorization.verification_uri_complete,
            minutes,
        ),
        flush=True,
    )


def browser_login_text(url: str) -> str:
    """What a person reads for ``agave login --web``."""
    return (
        "Sign in in your browser. If it did not open, open this address on this machine:\n\n"
        f"    {url}\n\n"
        "Waiting for the browser..."
    )


def show_browser_login(url: str) -> None:
    """Print the browser login's address (``Agave.login(web=True)``'s default callback)."""
    print(browser_login_text(url), flush=True)


def has_display() -> bool:
    """Whether a browser opened here would be seen: a desktop session, not a bare SSH login."""
    import os

    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_in_browser(url: str) -> bool:
    """Open ``url`` in the person's browser; False when none could be started."""
    import webbrowser

    try:
        return webbrowser.open(url, new=2)
    except webbrowser.Error:
        return False
