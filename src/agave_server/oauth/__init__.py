"""OAuth 2.0 for Agave on Authlib's framework-independent core (RFC 6749 grants, RFC 7009).

Nothing in this package imports the web framework: the API layer builds an ``AgaveOAuth2Request``
from the HTTP request and renders the ``(status, body, headers)`` triple this package returns.
"""

from .server import AgaveAuthorizationServer, AgaveOAuth2Request

__all__ = ["AgaveAuthorizationServer", "AgaveOAuth2Request"]
