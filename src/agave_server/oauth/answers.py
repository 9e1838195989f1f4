"""What an OAuth endpoint answers: a JSON body, a redirect, or a page for a person.

Authlib's endpoints return ``(status, body, headers)`` triples; ``from_triple`` turns them into
one of these. The HTTP layer renders them (``api/answers.py``): JSON as JSON, a redirect as a
302 with ``Location``, a page through the page renderer (templates live in ``pages/``). Nothing
here knows a web framework.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any, NamedTuple

Headers = tuple[tuple[str, str], ...]
_REDIRECTS = (301, 302, 303, 307, 308)
_NO_CONTEXT: Mapping[str, Any] = MappingProxyType({})


# Named tuples, as the per-request records are (storage/records.py): every OAuth request
# builds one, in under half a frozen dataclass's time.
class JsonAnswer(NamedTuple):
    status: int
    body: Any
    headers: Headers = ()


class RedirectAnswer(NamedTuple):
    location: str
    status: int = 302
    headers: Headers = ()


class PageAnswer(NamedTuple):
    """A page: ``template`` under ``pages/templates``, rendered with ``context``."""

    template: str
    context: Mapping[str, Any] = _NO_CONTEXT
    status: int = 200
    headers: Headers = ()


Answer = JsonAnswer | RedirectAnswer | PageAnswer


def from_triple(status: int, body: Any, headers: Any) -> Answer:
    """An Authlib ``(status, body, headers)`` as an answer (a Location on a 3xx: redirect)."""
    pairs = _pairs(headers)
    if status in _REDIRECTS:
        location = next((v for k, v in pairs if k.lower() == "location"), None)
        if location is not None:
            rest = tuple((k, v) for k, v in pairs if k.lower() != "location")
            return RedirectAnswer(location, status, rest)
    return JsonAnswer(status, body, pairs)


def _pairs(headers: Any) -> Headers:
    """Authlib's header list as a tuple of string pairs (it gives ``str`` pairs already, as
    every endpoint's ``default_json_headers`` are: those are only copied)."""
    if not headers:
        return ()
    pairs = tuple(headers)
    for pair in pairs:
        if type(pair) is not tuple or type(pair[0]) is not str or type(pair[1]) is not str:
            return tuple((str(k), str(v)) for k, v in pairs)
    return pairs
