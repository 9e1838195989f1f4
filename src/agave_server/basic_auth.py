"""Parsing of HTTP Basic credentials, strict enough that junk gets a clear message, not a crash."""

from __future__ import annotations

import base64
import binascii
import re

MAX_HEADER = 4096
_CONTROL = re.compile("[\x00-\x1f\x7f]")


class MalformedCredentials(ValueError):
    """The Authorization header is present but is not usable Basic credentials."""


def parse_basic(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from ``Authorization: Basic ...``; None when there is no header.

    Raises MalformedCredentials naming what is wrong (scheme, base64, UTF-8, colon, empty user).
    """
    if header is None or header.strip() == "":
        return None
    if len(header) > MAX_HEADER:
        raise MalformedCredentials(f"The Authorization header is longer than {MAX_HEADER} bytes.")
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise MalformedCredentials(
            f"Unsupported authorization scheme {scheme[:20]!r}: use HTTP Basic."
        )
    value = value.strip()
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise MalformedCredentials("The Basic credentials are not valid base64.") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise MalformedCredentials("The Basic credentials are not UTF-8 text.") from None
    user, colon, password = text.partition(":")
    if not colon:
        raise MalformedCredentials("The Basic credentials have no ':' between user and password.")
    if not user:
        raise MalformedCredentials("The Basic credentials have an empty user name.")
    if _CONTROL.search(user):
        # No username or consumer key has them; PostgreSQL cannot even look up a NUL.
        raise MalformedCredentials("The Basic credentials' user name contains control characters.")
    return user, password
