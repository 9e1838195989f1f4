"""``/clients/v2``: a user's OAuth clients and their subscriptions (HTTP Basic: the user).

Handlers parse the body on the event loop, then do authentication (argon2) and database work
in a worker thread so one slow password hash never stalls other requests.
"""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from ...services import audit
from ...services import clients as service
from ..body import read_params
from ..context import account_user, address_of, state, tenant_of
from ..envelope import envelope, page
from ..representations import client_json, subscription_json
from ..schemas import (
    CREATE_CLIENT_BODY,
    ENVELOPE_PARAMS_NOTE,
    PAGING,
    PRETTY,
    SUBSCRIBE_BODY,
    UNSUBSCRIBE_BODY,
    UPDATE_CLIENT_BODY,
    ClientOut,
    CreatedClientOut,
    Envelope,
    SubscriptionOut,
    path_param,
)
from .docs import error_responses

router = APIRouter(tags=["clients"])
BASIC = [{"basicAuth": []}, {"cliBearerAuth": []}]
NAME = path_param("name", "client name")


def _create(request: Request, params: Mapping[str, str]) -> Response:
    tenant = tenant_of(request)
    owner = account_user(request, tenant)
    new = service.create(state(request).db, tenant, owner, params)
    body = client_json(tenant, owner, new.client, new.consumer_secret)
    return envelope(body, "Client created successfully.", request.query_params, status=201)


@router.post(
    "/clients/v2",
    status_code=201,
    summary="Create a client (the only time its consumerSecret is shown)",
    description="The new client is subscribed to every default API." + ENVELOPE_PARAMS_NOTE,
    responses={
        201: {"model": Envelope[CreatedClientOut], "description": "Client created"},
        **error_responses(400, 401, 409, 413, 415, 429),
    },
    openapi_extra={**CREATE_CLIENT_BODY, "parameters": [PRETTY], "security": BASIC},
)
async def create_client(request: Request) -> Response:
    params = await read_params(request)
    return await run_in_threadpool(_create, request, params)


def _list(request: Request) -> Response:
    tenant = tenant_of(request)
    owner = account_user(request, tenant)
    limit, offset = page(request.query_params)
    clients = service.list_for(state(request).db, owner, limit, offset)
    return envelope(
        [client_json(tenant, owner, c) for c in clients], "", request.query_params, paged=True
    )


@router.get(
    "/clients/v2",
    summary="List your clients (no secrets)",
    description=ENVELOPE_PARAMS_NOTE,
    responses={
        200: {"model": Envelope[list[ClientOut]], "description": "Your clients"},
        **error_responses(400, 401, 429),
    },
    openapi_extra={"parameters": [PRETTY, *PAGING], "security": BASIC},
)
async def list_clients(request: Request) -> Response:
    return await run_in_threadpool(_list, request)


def _show(request: Request) -> Response:
    tenant = tenant_of(request)
    owner = account_user(request, tenant)
    client = service.get(state(request).db, owner, request.path_params["name"])
    return envelope(client_json(tenant, owner, client), "", request.query_params)


@router.get(
    "/clients/v2/{name}",
    summary="Show one of your clients (no secret)",
    description=ENVELOPE_PARAMS_NOTE,
    responses={
        200: {"model": Envelope[ClientOut], "description": "The client"},
        **error_responses(400, 401, 404, 429),
    },
    openapi_extra={"parameters": [NAME, PRETTY], "security": BASIC},
)
async def show_client(request: Request) -> Response:
    return await run_in_threadpool(_show, request)


def _update(request: Request, params: Mapping[str, str]) -> Response:
    tenant = tenant_of(request)
    owner = account_user(request, tenant)
    client = service.update(state(request).db, owner, request.path_params["name"], params)
    return envelope(client_json(tenant, owner, client), "Client updated.", request.query_params)


@router.put(
    "/clients/v2/{name}",
    summary="Change a client's description, callbackUrl, tier or postLogoutRedirectUri "
    "(fields not given are kept)",
    description="An extension of the Agave API (the old tools never call it). The key, the "
    "secret, the subscriptions and the tokens stay as they are." + ENVELOPE_PARAMS_NOTE,
    responses={
        200: {"model": Envelope[ClientOut], "description": "The client as it is now"},
        **error_responses(400, 401, 404, 413, 415, 429),
    },
    openapi_extra={**UPDATE_CLIENT_BODY, "parameters": [NAME, PRETTY], "security": BASIC},
)
async def update_client(request: Request) -> Response:
    params = await read_params(request)
    return await run_in_threadpool(_update, request, params)


RESET_MESSAGE = (
    "Client secret reset: the new consumerSecret is shown only now, and every token "
    "issued with the old one has been revoked."
)


def _reset_secret(request: Request) -> Response:
    tenant = tenant_of(request)
    owner = account_user(request, tenant)
    db = state(request).db
    new = service.reset_secret(db, owner, request.path_params["name"])
    audit.record(
        db, tenant.id, owner.username, "client.secret_reset", new.client.name, address_of(request)
    )
    body = client_json(tenant, owner, new.client, new.consumer_secret)
    return envelope(body, RESET_MESSAGE, request.query_params)


@router.post(
    "/clients/v2/{name}/secret",
    summary="Issue a new consumerSecret (shown once); every token of the old one stops working",
    description="An extension of the Agave API. The consumer key stays the same; the old "
    "secret stops working at once, and so does every access and refresh token the client "
    "holds (revoked in the same transaction)." + ENVELOPE_PARAMS_NOTE,
    responses={
        200: {"model": Envelope[CreatedClientOut], "description": "The client and its new secret"},
        **error_responses(400, 401, 404, 413, 415, 429),
    },
    openapi_extra={"parameters": [NAME, PRETTY], "security": BASIC},
)
async def reset_secret(request: Request) -> Response:
    await read_params(request)  # a body is allowed but carries nothing; it must still parse
    return await run_in_threadpool(_reset_secret, request)


def _delete(request: Request) -> Response:
    tenant = tenant_of(request)
    owner = account_user(request, tenant)
    service.delete(state(request).db, owner, request.path_params["name"])
    return envelope(None, "Client removed successfully.", request.query_params)


@router.delete(
    "/clients/v2/{name}",
    summary="Delete one of your clients; its tokens stop working at once",
    responses={
        200: {"model": Envelope[None], "description": "Client removed"},
        **error_responses(400, 401, 404, 413, 429),
    },
    openapi_extra={"parameters": [NAME, PRETTY], "security": BASIC},
)
async def delete_client(request: Request) -> Response:
    await read_params(request)  # a body is allowed but carries nothing; it must still parse
    return await run_in_threadpool(_delete, request)


def _subscriptions(request: Request) -> Response:
    tenant = tenant_of(request)
    owner = account_user(request, tenant)
    client, subs = service.subscriptions(state(request).db, owner, request.path_params["name"])
    result = [subscription_json(tenant, client, s) for s in subs]
    return envelope(result, "", request.query_params)


@router.get(
    "/clients/v2/{name}/subscriptions",
    summary="List a client's API subscriptions",
    description=ENVELOPE_PARAMS_NOTE,
    responses={
        200: {"model": Envelope[list[SubscriptionOut]], "description": "Subscriptions"},
        **error_responses(400, 401, 404, 429),
    },
    openapi_extra={"parameters": [NAME, PRETTY, *PAGING], "security": BASIC},
)
async def list_subscriptions(request: Request) -> Response:
    return await run_in_threadpool(_subscriptions, request)


def _subscribe(request: Request, params: Mapping[str, str]) -> Response:
    tenant = tenant_of(request)
    owner = account_user(request, tenant)
    client, api_name, added = service.subscribe(
        state(request).db, tenant, owner, request.path_params["name"], params
    )
    result = [subscription_json(tenant, client, s) for s in added]
    message = f"Client {client.name} has been subscribed to {api_name}."
    return envelope(result, message, request.query_params)


@router.post(
    "/clients/v2/{name}/subscriptions",
    summary="Subscribe a client to an API (apiName=* for all); subscribing twice is fine",
    description=ENVELOPE_PARAMS_NOTE,
    responses={
        200: {"model": Envelope[list[SubscriptionOut]], "description": "Subscribed"},
        **error_responses(400, 401, 404, 413, 415, 429),
    },
    openapi_extra={**SUBSCRIBE_BODY, "parameters": [NAME, PRETTY], "security": BASIC},
)
async def subscribe(request: Request) -> Response:
    params = await read_params(request)
    return await run_in_threadpool(_subscribe, request, params)


def _unsubscribe(request: Request, params: Mapping[str, str]) -> Response:
    tenant = tenant_of(request)
    owner = account_user(request, tenant)
    client, api_name, removed = service.unsubscribe(
        state(request).db, tenant, owner, request.path_params["name"], params
    )
    result = [subscription_json(tenant, client, s) for s in removed]
    message = f"Client {client.name} has been unsubscribed from {api_name}."
    return envelope(result, message, request.query_params)


_SELECTOR_QUERY = [
    {
        "name": n,
        "in": "query",
        "required": False,
        "schema": {"type": "string"},
        "description": f"{n}, when not in the body (agavepy sends no body)",
    }
    for n in ("apiName", "apiVersion", "apiProvider")
]


@router.delete(
    "/clients/v2/{name}/subscriptions",
    summary="Unsubscribe a client from an API (apiName=* for all)",
    description="Fields come from the body or, when absent there, the query string."
    + ENVELOPE_PARAMS_NOTE,
    responses={
        200: {"model": Envelope[list[SubscriptionOut]], "description": "Removed"},
        **error_responses(400, 401, 404, 413, 415, 429),
    },
    openapi_extra={
        **UNSUBSCRIBE_BODY,
        "parameters": [NAME, PRETTY, *_SELECTOR_QUERY],
        "security": BASIC,
    },
)
async def unsubscribe(request: Request) -> Response:
    body = await read_params(request)
    query = {k: v for k, v in request.query_params.items() if k.startswith("api")}
    return await run_in_threadpool(_unsubscribe, request, {**query, **body})
