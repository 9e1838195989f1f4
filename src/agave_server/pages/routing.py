"""``PageRoute``: the route class of every page, so no page can forget its error page or
its CSRF check.

For every request it marks the scope as a page (``headers.SecurityHeaders``); for a POST it
requires a URL-encoded form carrying this browser's CSRF token before the handler runs (the
parsed form is then ``form_of(request)``). Any error becomes a page with the status it
carries: an ``AgaveError``'s message, a refused CSRF token, a busy database, or (logged) an
unexpected failure, never a stack trace and never a JSON envelope.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import APIRouter
from fastapi.routing import APIRoute
from sqlalchemy.exc import OperationalError
from starlette.requests import Request
from starlette.responses import Response

from ..api.body import FORM, parse_form
from ..api.context import tenant_of
from ..errors import AgaveError, TooManyRequests, UnsupportedMediaType
from . import csrf
from .headers import PAGE_MARK
from .render import error_page

log = logging.getLogger("agave_server")
_FORM = "agave.form"
_TITLES = {404: "Not found", 415: "This form cannot be read", 413: "Too large"}


_RP_POST = "_agave_relying_party_post"


def relying_party_post(endpoint):
    """Mark a POST that relying parties may send from their own site (the authorization
    request, RP-initiated logout): without ``confirm`` it is not CSRF-checked, so it must act
    only as its GET would."""
    setattr(endpoint, _RP_POST, True)
    return endpoint


def form_of(request: Request) -> dict[str, str]:
    """The POSTed form, parsed and CSRF-checked by the route class."""
    return request.scope[_FORM]


async def _checked_form(request: Request, from_relying_party: bool) -> None:
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != FORM:
        raise UnsupportedMediaType(
            f"This form must be sent as {FORM} (a browser does that); got {media or 'no body'}."
        )
    form = parse_form(await request.body())
    if not (from_relying_party and "confirm" not in form):
        csrf.check(request, tenant_of(request), form)
    request.scope[_FORM] = form


def _tenant_or_none(request: Request):
    try:
        return tenant_of(request)
    except AgaveError:
        return None


class PageRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        from_relying_party = getattr(self.endpoint, _RP_POST, False)

        async def page_handler(request: Request) -> Response:
            request.scope[PAGE_MARK] = True
            try:
                if request.method == "POST":
                    await _checked_form(request, from_relying_party)
                return await handler(request)
            except csrf.CsrfRefused:
                return error_page(
                    request,
                    _tenant_or_none(request),
                    403,
                    "This form cannot be accepted",
                    "The form was not sent from this site's page, or the page is too old. "
                    "Go back, reload the page and try again.",
                )
            except TooManyRequests as err:
                return error_page(
                    request,
                    _tenant_or_none(request),
                    429,
                    "Too many attempts",
                    err.message,
                    err.headers,
                )
            except AgaveError as err:
                return error_page(
                    request,
                    _tenant_or_none(request),
                    err.status,
                    _TITLES.get(err.status, "This request cannot be completed"),
                    err.message,
                    err.headers,
                )
            except OperationalError as err:
                log.warning("database error on page %s: %s", request.url.path, err.orig)
                return error_page(
                    request,
                    None,
                    503,
                    "Busy",
                    "The server is busy; wait a moment and try again.",
                    {"Retry-After": "1"},
                )
            except Exception:
                log.exception("unexpected error on page %s %s", request.method, request.url.path)
                return error_page(
                    request,
                    None,
                    500,
                    "Something went wrong",
                    "The server could not show this page; its log has the details.",
                )

        return page_handler


def page_router() -> APIRouter:
    """A router whose routes are pages (kept out of the API's OpenAPI document)."""
    return APIRouter(route_class=PageRoute, include_in_schema=False)
