"""What an OAuth endpoint answers: a JSON body, a redirect, or a page for a person.

Authlib's endpoints return ``(status, body, headers)`` triples; ``from_triple`` turns them into
one of these. The HTTP layer renders them (``api/answers.py``): JSON as JSON, a redirect as a
302 with ``Location``, a page through the page renderer (templates live in ``pages/``). Nothing
here knows a web framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

Headers = tuple[tuple[str, str], ...]
_REDIRECTS = (301, 302, 303, 307, 308)


@dataclass(frozen=True)
class JsonAnswer:
    status: int
    body: Any
    headers: Headers = ()


@dataclass(frozen=True)
class RedirectAnswer:
    location: str
    status: int = 302
    headers: Headers = ()


@dataclass(frozen=True)
class PageAnswer:
    """A page: ``template`` under ``pages/templates``, rendered with ``context``."""

    template: str
    context: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200
    headers: Headers = ()


Answer = JsonAnswer | RedirectAnswer | PageAnswer


def from_triple(status: int, body: Any, headers: Any) -> Answer:
    """An Authlib ``(status, body, headers)`` as an answer (a Location on a 3xx: redirect)."""
    pairs = tuple((str(k), str(v)) for k, v in headers or ())
    if status in _REDIRECTS:
        location = next((v for k, v in pairs if k.lower() == "location"), None)
        if location is not None:
            rest = tuple((k, v) for k, v in pairs if k.lower() != "location")
            return RedirectAnswer(location, status, rest)
    return JsonAnswer(status, body, pairs)
