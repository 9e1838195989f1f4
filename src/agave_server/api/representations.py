"""JSON shapes of the contract's objects (AGAVE_WIRE.md): every listed field always present."""

from __future__ import annotations

from typing import Any

from ..storage.records import Client, Subscription, Tenant, User


def href(tenant: Tenant, path: str) -> dict[str, str]:
    """An absolute link under the tenant's base URL (which ends with '/')."""
    return {"href": tenant.base_url + path.lstrip("/")}


def client_json(
    tenant: Tenant, owner: User, client: Client, secret: str | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": client.name,
        "description": client.description,
        "consumerKey": client.consumer_key,
        "tier": client.tier,
        "callbackUrl": client.callback_url,
        # An extension (the old tools ignore it): where RP-initiated logout may return to.
        "postLogoutRedirectUri": client.post_logout_redirect_uri,
    }
    if secret is not None:
        body["consumerSecret"] = secret
    body["_links"] = {
        "self": href(tenant, f"clients/v2/{client.name}"),
        "subscriber": href(tenant, f"profiles/v2/{owner.username}"),
        "subscriptions": href(tenant, f"clients/v2/{client.name}/subscriptions/"),
    }
    return body


def subscription_json(tenant: Tenant, client: Client, sub: Subscription) -> dict[str, Any]:
    api = sub.api
    return {
        "apiName": api.name,
        "apiVersion": api.version,
        "apiProvider": api.provider,
        "apiContext": api.context,
        "apiStatus": api.status,
        "tier": sub.tier,
        "_links": {
            "self": href(tenant, f"clients/v2/{client.name}/subscriptions/{api.name}"),
            "api": href(tenant, api.context.lstrip("/") + "/"),
            "client": href(tenant, f"clients/v2/{client.name}"),
        },
    }


def tenant_json(tenant: Tenant) -> dict[str, Any]:
    contact = []
    if tenant.contact_name or tenant.contact_email or tenant.contact_url:
        contact.append(
            {
                "name": tenant.contact_name,
                "email": tenant.contact_email,
                "url": tenant.contact_url,
                "type": "admin",
                "primary": True,
            }
        )
    return {
        "id": tenant.uuid,
        "code": tenant.code,
        "name": tenant.name,
        "baseUrl": tenant.base_url,
        "issuer": tenant.issuer,
        "contact": contact,
        "_links": {
            "self": href(tenant, f"tenants/{tenant.code}"),
            "publickey": href(tenant, "apim/v2/publickey"),
        },
    }


def profile_json(tenant: Tenant, user: User) -> dict[str, Any]:
    full_name = " ".join(p for p in (user.first_name, user.last_name) if p)
    return {
        "username": user.username,
        "email": user.email,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "full_name": full_name,
        "phone": "",
        "mobile_phone": "",
        "status": "Active",
        "create_time": user.created_at,
        "_links": {"self": href(tenant, f"profiles/v2/{user.username}")},
    }
