"""The authorization endpoint (RFC 6749 section 3.1, OpenID Connect Core section 3.1.2) as
steps that return answers: a redirect to the client, to sign-in, or the consent page.

Authlib validates the request (client, redirect URI, response type, PKCE, nonce, prompt) and
makes the code; this module decides between signing in, asking and answering. Errors before
the redirect URI is known to be the client's (unknown client, unregistered redirect URI) are
an error page and never a redirect; every later error goes back to the client with
``error=`` (section 4.1.2.1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit

from authlib.oauth2.rfc6749 import scope_to_list
from authlib.oauth2.rfc6749.errors import InvalidRequestError, OAuth2Error
from authlib.oidc.core.errors import ConsentRequiredError, LoginRequiredError

from ..services import audit, consents
from ..storage import now
from ..storage.records import User
from .answers import Answer, PageAnswer, RedirectAnswer
from .redirect_uris import is_loopback, origin
from .requests import HttpInput

AUTHORIZE_PATH = "/oauth2/authorize"
# The authorization request's parameters the consent form carries back (re-validated then).
CARRIED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "nonce",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "max_age",
    "login_hint",
    "response_mode",
)


@dataclass(frozen=True)
class Browser:
    """Who is signed in on the browser making the request (None: nobody)."""

    user: User | None
    auth_time: int | None = None


def _error_page(error: OAuth2Error) -> PageAnswer:
    description = error.get_error_description() or error.error
    return PageAnswer(
        "error.html",
        {
            "title": "This sign-in request cannot be completed",
            "message": description,
            "detail": f"OAuth error: {error.error}",
        },
        status=400,
    )


def _answer_error(server, request, error: OAuth2Error) -> Answer:
    """A redirect with ``error=`` once the redirect URI is the client's, else a page."""
    if getattr(error, "redirect_uri", None):
        error.state = request.payload.state
        return server.handle_error_response(request, error)
    return _error_page(error)


def _sign_in(tenant, source: HttpInput, reauth: bool) -> RedirectAnswer:
    """To the sign-in page, coming back to this authorization (without ``prompt=login``,
    which the new sign-in satisfies, so the return does not ask again)."""
    query = {k: v for k, v in source.query.items() if not (reauth and k in ("prompt", "max_age"))}
    back = AUTHORIZE_PATH + "?" + urlencode(query)
    params = {"next": back}
    if reauth:
        params["reauth"] = "1"
    return RedirectAnswer(tenant.base_url.rstrip("/") + "/login?" + urlencode(params), 302)


def _needs_fresh_sign_in(source: HttpInput, browser: Browser) -> bool:
    prompts = (source.query.get("prompt") or "").split()
    if "login" in prompts:
        return True
    max_age = source.query.get("max_age")
    if max_age is not None and browser.auth_time is not None:
        try:
            limit = int(max_age)
        except ValueError:
            return False
        # max_age=0 asks for a sign-in now (as prompt=login): with whole seconds, "elapsed > 0"
        # would let a sign-in of the same second pass. The sign-in page's way back drops it.
        return limit <= 0 or now() - browser.auth_time > limit
    return False


def _duplicates(query_items: list[tuple[str, str]]) -> str | None:
    seen: set[str] = set()
    for key, _ in query_items:
        if key in seen and key in CARRIED:
            return key
        seen.add(key)
    return None


def _remembered_ok(request, redirect_uri: str) -> bool:
    client = request.client
    return consents.may_remember(
        confidential=bool(client.record.secret_digest) and not client.is_public,
        exact_redirect=redirect_uri == client.get_default_redirect_uri(),
        loopback_redirect=is_loopback(redirect_uri),
    )


def _consent_page(request, redirect_uri: str, may_remember: bool) -> PageAnswer:
    client = request.client
    carried = {k: v for k, v in request.args.items() if k in CARRIED}
    return PageAnswer(
        "consent.html",
        {
            "title": f"Allow {client.record.name}?",
            "client_name": client.record.name,
            "client_description": client.record.description,
            # The tenant's built-in CLI client has no owner a person would know.
            "client_owner": None if client.is_public else client.owner.username,
            "redirect_uri": redirect_uri,
            "scopes": scope_to_list(request.scope) or [],
            "carried": carried,
            "remembered": may_remember,
            # The decision's redirect leaves this origin: the page's CSP must allow it.
            "form_targets": [o for o in (origin(redirect_uri),) if o],
        },
    )


def authorize(
    server,
    source: HttpInput,
    browser: Browser,
    query_items: list[tuple[str, str]] | None = None,
    decision: str | None = None,
) -> Answer:
    """One step of the authorization endpoint (``decision``: the consent form's answer)."""
    request = server.request(source, keep_scope=True)
    request.auth_time = browser.auth_time
    repeated = _duplicates(query_items or [])
    try:
        grant = server.get_consent_grant(request, end_user=browser.user)
    except OAuth2Error as error:
        return _answer_error(server, request, error)
    redirect_uri = grant.redirect_uri
    if repeated:
        error = InvalidRequestError(f"Parameter {repeated} is given more than once.")
        error.redirect_uri = redirect_uri
        return _answer_error(server, request, error)
    if browser.user is None:
        return _sign_in(source.tenant, source, reauth=False)
    if decision is None and _needs_fresh_sign_in(source, browser):
        if "none" in (source.query.get("prompt") or "").split():  # may not show a page
            return _answer_error(server, request, LoginRequiredError(redirect_uri=redirect_uri))
        return _sign_in(source.tenant, source, reauth=True)
    remember = _remembered_ok(request, redirect_uri)
    scopes = set(scope_to_list(request.scope) or [])
    if decision is None:
        ask = "consent" in (source.query.get("prompt") or "").split() or not (
            remember
            and consents.already_given(server.db, browser.user.id, request.client.id, scopes)
        )
        if ask and "none" in (source.query.get("prompt") or "").split():
            error = ConsentRequiredError(redirect_uri=redirect_uri)
            return _answer_error(server, request, error)
        if ask:
            return _consent_page(request, redirect_uri, remember)
    elif decision == "allow":
        if remember:
            consents.remember(server.db, browser.user.id, request.client.id, scopes)
        _audit_consent(server, source, browser.user, request, "consent.give", scopes, remember)
    else:
        _audit_consent(server, source, browser.user, request, "consent.deny", scopes, False)
        return server.create_authorization_response(request, grant_user=None, grant=grant)
    return server.create_authorization_response(request, grant_user=browser.user, grant=grant)


def _audit_consent(server, source, user: User, request, action: str, scopes, kept: bool) -> None:
    """Consents given and refused go into the tenant's audit log (who, which client, from
    where), remembered or not."""
    audit.record(
        server.db,
        source.tenant.id,
        user.username,
        action,
        request.client.get_client_id(),
        source.address,
        {"scope": " ".join(sorted(scopes)), "remembered": kept},
    )


def carried_query(form: Mapping[str, str]) -> dict[str, str]:
    """The authorization request a consent form carries back."""
    return {k: v for k, v in form.items() if k in CARRIED}


def pending_redirect_origin(server, tenant, next_path: str | None) -> str | None:
    """The origin a sign-in may end up at: that of the redirect URI of the authorization
    request ``next_path`` names, when it is really the client's (else None).

    The sign-in form's POST redirects to the authorization, which may redirect on to the
    client at once (remembered consent); Chromium applies the form page's CSP
    ``form-action`` to that whole chain, so the sign-in page must allow that one origin.
    """
    if not next_path:
        return None
    parts = urlsplit(next_path)
    if parts.path != AUTHORIZE_PATH:
        return None
    query = dict(parse_qsl(parts.query))
    client = server.lookup_client(tenant, query.get("client_id") or "")
    if client is None:
        return None
    registered = client.get_default_redirect_uri()
    presented = query.get("redirect_uri")
    if presented and not client.check_redirect_uri(presented):
        return None
    return origin(presented or registered) if (presented or registered) else None
