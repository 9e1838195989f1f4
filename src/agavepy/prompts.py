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
