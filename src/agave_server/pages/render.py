"""Rendering pages: one Jinja2 environment, one base template, one error page.

Every page gets the tenant, absolute links built from its stored base URL, the CSRF token
for its forms and the signed-in user (for the header's sign-out button). Autoescaping is on
for every template.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..api.context import state
from ..storage.records import Tenant
from . import csrf, session
from .headers import policy
from .navigation import issuer, link

_env = Environment(
    loader=PackageLoader("agave_server.pages", "templates"),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def page(
    request: Request,
    tenant: Tenant,
    template: str,
    *,
    title: str,
    status: int = 200,
    form_targets: Iterable[str] = (),
    headers: dict[str, str] | None = None,
    **context: Any,
) -> HTMLResponse:
    """Render ``template`` as a full page of ``tenant``."""
    app = state(request)
    current = session.current(request, app.db, tenant)
    html = _env.get_template(template).render(
        tenant=tenant,
        issuer=issuer(tenant),
        link=lambda path, **q: link(tenant, path, **q),
        title=title,
        csrf_field=csrf.FIELD,
        csrf_token=csrf.token_for(request, tenant),
        signed_in=current.user if current else None,
        **context,
    )
    extra = dict(headers or {})
    extra["Content-Security-Policy"] = policy(form_targets)
    response = HTMLResponse(html, status_code=status, headers=extra)
    csrf.attach(request, response, tenant)
    return response


def error_page(
    request: Request,
    tenant: Tenant | None,
    status: int,
    title: str,
    message: str,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """An error shown to a person: a page with what went wrong and what to do, never JSON."""
    if tenant is None:  # no tenant to render for: a bare page, still with the base look
        html = _env.get_template("error.html").render(
            tenant=None,
            issuer="",
            link=lambda path, **q: path,
            title=title,
            message=message,
            status=status,
            signed_in=None,
        )
        return HTMLResponse(html, status_code=status, headers=headers)
    return page(
        request,
        tenant,
        "error.html",
        title=title,
        status=status,
        message=message,
        headers=headers,
    )


def redirect(url: str, response: Response | None = None) -> Response:
    """A 303 to an absolute URL (after a POST the browser then GETs it)."""
    out = RedirectResponse(url, status_code=303)
    if response is not None:  # carry the cookies a handler set on a scratch response
        for name, value in response.raw_headers:
            if name == b"set-cookie":
                out.raw_headers.append((name, value))
    return out


def answer_page(
    request: Request,
    template: str,
    context: Mapping[str, Any],
    status: int,
    headers: dict[str, str],
) -> Response:
    """Render a ``PageAnswer`` of ``oauth/`` (installed as ``AppState.render_page``)."""
    from ..api.context import tenant_of

    values = dict(context)
    title = str(values.pop("title", "Agave"))
    targets = values.pop("form_targets", ())
    return page(
        request,
        tenant_of(request),
        template,
        title=title,
        status=status,
        form_targets=targets,
        headers=headers,
        **values,
    )


def wants_page(request: Request) -> bool:
    """A browser navigating (it asks for HTML first), not an API client (JSON, ``*/*``)."""
    accept = request.headers.get("accept", "")
    return request.method in ("GET", "HEAD") and accept.startswith("text/html")


def not_found_page(request: Request) -> Response:
    """404 for a person: a page naming the path, with the tenant's look when there is one."""
    from ..api.context import tenant_of
    from ..errors import AgaveError

    try:
        tenant = tenant_of(request)
    except AgaveError:
        tenant = None
    return error_page(
        request,
        tenant,
        404,
        "Page not found",
        f"There is no page at {request.url.path[:200]} on this site.",
    )
