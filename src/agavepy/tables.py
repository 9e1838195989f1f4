"""All tables the SDK shows a user, in one place, in the seed's exact layout.

The column widths are agavepy 0.9.5's (``"{0:<30} {1:<80}"`` for clients,
``"{0:<16} {1:^8} {2:<20}"`` for subscriptions, ``"{0:<20} {1:<40} {2:<50}"``
for tenants) with trailing blanks removed, as the seed's transcript shows
them. The subscriptions table has no header line because the seed shows
none. The list types below are what the seed-compatible methods return:
real lists of typed records whose ``repr`` is the table, so a REPL shows the
seed's table and a program iterates records instead of parsing text.
"""

from __future__ import annotations

from collections.abc import Iterable

from agavepy.models import Client, Subscription, Tenant

CLIENT_ROW = "{0:<30} {1:<80}"
SUBSCRIPTION_ROW = "{0:<16} {1:^8} {2:<20}"
TENANT_ROW = "{0:<20} {1:<40} {2:<50}"


def _lines(rows: Iterable[str]) -> str:
    return "\n".join(row.rstrip() for row in rows)


def clients_table(clients: Iterable[Client]) -> str:
    """``NAME  DESCRIPTION`` then one row per client."""
    rows = [CLIENT_ROW.format("NAME", "DESCRIPTION")]
    rows += [CLIENT_ROW.format(c.name, c.description or "") for c in clients]
    return _lines(rows)


def subscriptions_table(subscriptions: Iterable[Subscription]) -> str:
    """One ``name  version  provider`` row per subscription (no header, as in the seed)."""
    return _lines(
        SUBSCRIPTION_ROW.format(s.api_name, s.api_version, s.api_provider) for s in subscriptions
    )


def tenants_table(tenants: Iterable[Tenant]) -> str:
    """``ID  NAME  URL`` then one row per tenant (agavepy 0.9.5's ``list_tenants``)."""
    rows = [TENANT_ROW.format("ID", "NAME", "URL")]
    rows += [TENANT_ROW.format(t.code, t.name, t.base_url) for t in tenants]
    return _lines(rows)


class ClientList(list[Client]):
    """A list of :class:`Client` that a REPL shows as the seed's clients table."""

    def __repr__(self) -> str:
        return clients_table(self)

    __str__ = __repr__


class SubscriptionList(list[Subscription]):
    """A list of :class:`Subscription` that a REPL shows as the seed's table."""

    def __repr__(self) -> str:
        return subscriptions_table(self)

    __str__ = __repr__


class TenantList(list[Tenant]):
    """A list of :class:`Tenant` shown as the ``ID NAME URL`` table."""

    def __repr__(self) -> str:
        return tenants_table(self)

    __str__ = __repr__

    def find(self, code: str) -> Tenant | None:
        """The tenant with this code, or None."""
        return next((t for t in self if t.code == code), None)

    def codes(self) -> list[str]:
        return [t.code for t in self]
