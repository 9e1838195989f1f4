"""OAuth 2.0 for Agave on Authlib's framework-independent core (RFC 6749 grants, RFC 7009).

Nothing in this package imports the web framework: the API layer builds an ``HttpInput``
(``requests.py``), asks ``AgaveAuthorizationServer.request`` for the OAuth request, and renders
the ``Answer`` (``answers.py``) it gets back.
"""

from .answers import Answer, JsonAnswer, PageAnswer, RedirectAnswer
from .requests import AgaveOAuth2Request, HttpInput
from .server import AgaveAuthorizationServer

__all__ = [
    "AgaveAuthorizationServer",
    "AgaveOAuth2Request",
    "Answer",
    "HttpInput",
    "JsonAnswer",
    "PageAnswer",
    "RedirectAnswer",
]
