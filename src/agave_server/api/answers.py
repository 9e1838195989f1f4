"""The HTTP side of ``oauth/``: neutral input from a Starlette request, answers rendered back.

Every OAuth route does the same three things: ``oauth_input`` (parse the body, find the
tenant), one call into ``oauth/``, ``render``. Parse failures are RFC 6749 error bodies, as
OAuth clients expect from these endpoints.
"""

from __future__ import annotations

import functools
import html
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

from ..errors import AgaveError
from ..oauth import Answer, HttpInput, JsonAnswer, PageAnswer, RedirectAnswer
from ..oauth.requests import LowerHeaders
from .body import read_params
from .context import address_of, tenant_of
from .envelope import JsonBytes, encoded_headers, json_bytes, json_response, oauth_error

# Renders a PageAnswer: (request, template, context, status, headers) -> Response. The pages
# package installs the Jinja2 renderer (``AppState.render_page``); until then a plain page.
PageRenderer = Callable[[Request, str, Mapping[str, Any], int, dict[str, str]], Response]


async def oauth_input(request: Request, *, read_body: bool = True) -> HttpInput | Response:
    """The neutral input of an OAuth endpoint, or an RFC 6749 error answer if it is unusable."""
    headers = LowerHeaders.from_asgi(request.scope["headers"])  # one pass over them
    try:
        form = await read_params(request, headers.get("content-type", "")) if read_body else {}
        tenant = tenant_of(request, headers.get("host", ""))
    except AgaveError as err:
        return oauth_error(err.status, "invalid_request", err.message, err.headers)
    query = dict(request.query_params) if request.scope["query_string"] else {}
    return HttpInput(
        method=request.method,
        path=request.scope["path"],
        tenant=tenant,
        headers=headers,
        query=query,
        form=form,
        address=address_of(request),
    )


def _pretty(request: Request) -> bool:
    return (
        b"pretty" in request.scope["query_string"]  # skip parsing the query when it cannot be
        and request.query_params.get("pretty", "").lower() == "true"
    )


def plain_page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    status: int,
    headers: dict[str, str],
) -> Response:
    """A minimal, escaped page (title and message from the context) when no renderer is set."""
    title = html.escape(str(context.get("title", "Agave")))
    message = html.escape(str(context.get("message", "")))
    body = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title></head><body><main><h1>{title}</h1><p>{message}</p>"
        "</main></body></html>"
    )
    return HTMLResponse(body, status_code=status, headers=headers)


def _without_content_type(headers: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """An answer's headers but its Content-Type (the JSON response sets its own)."""
    return {k: v for k, v in headers if k.lower() != "content-type"}


@functools.lru_cache(maxsize=256)
def _json_extra_headers(headers: tuple[tuple[str, str], ...]) -> tuple | None:
    """A JSON answer's headers but its Content-Type, encoded as ``JsonBytes`` sends them;
    None when they set Content-Length (the generic ``json_response`` then). Remembered: the
    endpoints answer a few fixed sets (Authlib's ``default_json_headers``) on every request."""
    extra = _without_content_type(headers)
    if any(k.lower() == "content-length" for k in extra):
        return None
    return encoded_headers(extra)


def render(request: Request, answer: Answer) -> Response:
    """The HTTP response for an answer of ``oauth/``."""
    if isinstance(answer, JsonAnswer):
        status, pretty = answer.status, _pretty(request)
        plain = status >= 200 and status not in (204, 304)  # a body is allowed
        encoded = _json_extra_headers(answer.headers) if plain else None
        if encoded is None:
            extra = _without_content_type(answer.headers)
            return json_response(answer.body, status, extra, pretty)
        return JsonBytes(json_bytes(answer.body, pretty), status, encoded)
    headers = dict(answer.headers)
    if isinstance(answer, RedirectAnswer):
        headers["Location"] = answer.location
        headers.setdefault("Cache-Control", "no-store")
        return Response(status_code=answer.status, headers=headers)
    if isinstance(answer, PageAnswer):
        renderer: PageRenderer = getattr(request.app.state.agave, "render_page", None) or plain_page
        return renderer(request, answer.template, answer.context, answer.status, headers)
    raise TypeError(f"not an OAuth answer: {answer!r}")
