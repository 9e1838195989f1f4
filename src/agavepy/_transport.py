"""HTTP for the SDK: one httpx connection pool, retries, and the mapping of failures to errors.

Everything that touches the network goes through :class:`Transport`, so
timeouts, retries and the translation of HTTP failures into
:mod:`agavepy.errors` live in one place. Only idempotent requests are
retried, and only when the connection failed; a POST is never sent twice.
The bearer-token flow is in :mod:`agavepy._auth`.
Never put request bodies (they may hold a password) into an error.

httpx is imported on first use, not with this module: when click and rich
are installed (they are, for our CLI) ``import httpx`` imports them too,
for its own command line, and ``import agavepy.agave`` must stay light.
For the same reason httpx's command line is marked absent before the first
``import httpx`` (as ``agave`` does), and the TLS context (certifi's CA
bundle, the costliest part of building a client) is only built for the
first ``https://`` request: a loopback ``http://`` tenant never pays for it.
"""

from __future__ import annotations

import sys
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from agavepy import __version__
from agavepy.errors import (
    AgaveError,
    BadRequestError,
    NetworkError,
    PermissionDeniedError,
    RateLimitedError,
    error_class_for_status,
)

if TYPE_CHECKING:
    import ssl

    import httpx


IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRIES = 2
RETRY_BACKOFF = 0.25


def skip_httpx_cli() -> None:
    """Mark httpx's command line absent before httpx is first imported.

    httpx imports it (Rich, Pygments, Click) at import time when those are installed; nothing
    here uses it, and marked absent httpx falls back to its stub. Done on first use, not at
    import, so that importing agavepy leaves ``sys.modules`` alone; ``setdefault`` keeps a
    ``httpx._main`` someone already imported.
    """
    if "httpx" not in sys.modules:
        sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]


def check_url(value: str, what: str) -> str:
    """An http(s) URL with a host, or a BadRequestError naming ``what``."""
    parts = urlsplit(str(value))
    if parts.scheme not in ("http", "https") or not parts.hostname or " " in str(value):
        raise BadRequestError(
            f"invalid {what} {value!r}",
            hint="give an http:// or https:// URL, e.g. http://127.0.0.1:8000",
        )
    return str(value)


def _where(url: Any) -> str:
    parts = urlsplit(str(url))
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def _reason(exc: Exception) -> str:
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "no answer in time"
    if isinstance(exc, httpx.ConnectError):
        return "connection failed (" + (str(exc) or "refused") + ")"
    return str(exc) or type(exc).__name__


class Transport:
    """One ``httpx.Client`` (one connection pool) with timeouts on, created on first use.

    ``http_transport`` replaces the network below it: any ``httpx.BaseTransport``, as
    ``httpx.Client(transport=...)`` takes (``httpx.MockTransport`` to test code that uses the
    SDK without a server). Retries, timeouts and the error mapping stay the same.
    """

    def __init__(
        self,
        *,
        verify: bool | str = True,
        timeout: float = 30.0,
        http_transport: httpx.BaseTransport | None = None,
    ) -> None:
        skip_httpx_cli()
        if http_transport is not None and not callable(
            getattr(http_transport, "handle_request", None)
        ):
            raise TypeError(
                f"transport= must be an httpx transport (httpx.BaseTransport, e.g. "
                f"httpx.MockTransport(handler)), not {type(http_transport).__name__}"
            )
        self.verify = verify
        self.timeout = timeout
        self.http_transport = http_transport
        self._client: httpx.Client | None = None

    @property
    def client(self) -> httpx.Client:
        if self._client is None:
            import httpx

            self._client = httpx.Client(
                transport=self.http_transport or _tls_on_demand(self.verify),
                timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
                follow_redirects=False,
                headers={"User-Agent": f"agavepy/{__version__}", "Accept": "application/json"},
            )
        return self._client

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def request(self, method: str, url: str, **kw: Any) -> httpx.Response:
        """Send a request; retry idempotent ones on connection errors (then NetworkError)."""
        import httpx

        method = method.upper()
        attempts = 1 + (RETRIES if method in IDEMPOTENT else 0)
        for attempt in range(attempts):
            try:
                return self.client.request(method, url, **kw)
            except httpx.TransportError as exc:
                if attempt + 1 >= attempts:
                    raise NetworkError(f"cannot reach {_where(url)}: {_reason(exc)}") from exc
                time.sleep(RETRY_BACKOFF * (2**attempt))
        raise AssertionError("unreachable")  # pragma: no cover


def tls_verify(verify: bool | str) -> bool | ssl.SSLContext:
    """``verify`` as httpx takes it: a bool as it is; a path (as requests and agavepy 0.9.5
    take it: a PEM bundle file or a directory of certificates) as an SSL context, since httpx
    0.28 deprecates paths. A bundle that cannot be read is an error naming it."""
    if isinstance(verify, bool):
        return verify
    import os
    import ssl

    try:
        if os.path.isdir(verify):
            return ssl.create_default_context(capath=verify)
        return ssl.create_default_context(cafile=verify)
    except (OSError, ssl.SSLError) as err:
        reason = getattr(err, "strerror", None) or str(err)
        raise AgaveError(
            f"cannot read the CA bundle {verify!r} given as verify: {reason}",
            hint="give the path of a PEM file (or directory) of trusted certificates, or True",
        ) from None


def _tls_on_demand(verify: bool | str) -> httpx.BaseTransport:
    """A transport that sends each request by its own scheme's connection pool.

    ``http://`` requests go through a pool without TLS; the ``https://`` pool, with ``verify``,
    is built on the first https request. Routing is by each request's own URL, so an https
    request can never reach the pool without verification.
    """
    import httpx

    class TLSOnDemand(httpx.BaseTransport):
        def __init__(self) -> None:
            self._plain: httpx.HTTPTransport | None = None
            self._tls: httpx.HTTPTransport | None = None

        def _pool(self, scheme: str) -> httpx.HTTPTransport:
            if scheme == "https":
                if self._tls is None:
                    self._tls = httpx.HTTPTransport(verify=tls_verify(verify))
                return self._tls
            if self._plain is None:
                # Never used for TLS (see above), so no CA bundle to load.
                self._plain = httpx.HTTPTransport(verify=False)
            return self._plain

        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return self._pool(request.url.scheme).handle_request(request)

        def close(self) -> None:
            for pool in (self._plain, self._tls):
                if pool is not None:
                    pool.close()

    return TLSOnDemand()


def json_body(response: httpx.Response) -> Any:
    """The response's JSON, or None when it has none."""
    try:
        return response.json()
    except ValueError:
        return None


def server_message(body: Any) -> str | None:
    """What the server said, from an Agave envelope, a WSO2 fault or an OAuth error."""
    if not isinstance(body, dict):
        return None
    fault = body.get("fault")
    if isinstance(fault, dict):
        parts = [str(fault.get(k)) for k in ("message", "description") if fault.get(k)]
        return ": ".join(parts) or None
    if body.get("error_description") or body.get("error"):
        return str(body.get("error_description") or body.get("error"))
    message = body.get("message")
    return str(message) if message else None


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return float(response.headers.get("Retry-After", ""))
    except ValueError:
        return None


def error_from_response(
    response: httpx.Response, action: str, hint: str | None = None
) -> AgaveError:
    """The exception for a failed response; ``action`` says what we were doing."""
    body = json_body(response)
    said = server_message(body)
    status = response.status_code
    message = f"{action} failed"
    if status == 429:
        return RateLimitedError(
            message,
            retry_after=_retry_after(response),
            status=status,
            response=response,
            server_message=said,
        )
    cls = error_class_for_status(status)
    if (
        cls is PermissionDeniedError
        and isinstance(body, dict)
        and (str((body.get("fault") or {}).get("code")) == "900908")
    ):
        hint = hint or "subscribe the client to this API with clients_subscribe()"
    return cls(message, status=status, response=response, hint=hint, server_message=said)


def envelope_result(response: httpx.Response, action: str) -> Any:
    """The ``result`` of a successful Agave envelope; raise the mapped error otherwise."""
    if not response.is_success:
        raise error_from_response(response, action)
    body = json_body(response)
    if not isinstance(body, dict) or "result" not in body:
        raise AgaveError(
            f"{action} failed: the server's answer is not an Agave response",
            status=response.status_code,
            response=response,
            hint=f"check that {_where(response.request.url)} is an Agave tenant",
        )
    return body["result"]


def __getattr__(name: str) -> Any:
    """``BearerAuth`` and ``TokenSource`` live in :mod:`agavepy._auth` (they need httpx at import).

    The API contract placed them here; this keeps ``from agavepy._transport
    import BearerAuth`` working without importing httpx with this module.
    """
    if name in ("BearerAuth", "TokenSource", "EXPIRY_LEEWAY"):
        from agavepy import _auth

        return getattr(_auth, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
