"""Shell completion of the values ``agave`` knows: client, tenant and session names, tiers.

Click calls these while the user presses Tab (``agave completion SHELL`` installs the hook).
They read the saved sessions (``~/.agave``), never ask for a password and never fail: a
completion that cannot be computed offers nothing. Tenant codes also come from the tenants
service, with a short timeout, as ``gh`` completes repository names from the API.
"""

from __future__ import annotations

import contextlib
from typing import Any

import click
from click.shell_completion import CompletionItem

from agavepy.wire import TIERS, canonical_tier

TENANTS_TIMEOUT = 2.0


def _items(values: Any, incomplete: str) -> list[CompletionItem]:
    seen: list[str] = []
    for value in values:
        if value and value.startswith(incomplete) and value not in seen:
            seen.append(value)
    return [CompletionItem(v) for v in seen]


def _saved_sessions() -> list[Any]:
    from agavepy.session import SessionStore

    with contextlib.suppress(Exception):
        return SessionStore().sessions()
    return []


def client_names(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list:
    """Clients of the saved sessions (the current one first)."""
    refs = sorted(_saved_sessions(), key=lambda r: not r.current)
    return _items((r.client_name for r in refs), incomplete)


def session_tenants(_ctx: click.Context, _param: click.Parameter, incomplete: str) -> list:
    """Tenants of the saved sessions."""
    return _items((r.tenant for r in _saved_sessions()), incomplete)


def tenant_codes(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
    """Tenants of the saved sessions, then those the tenants service lists."""
    codes = [item.value for item in session_tenants(ctx, param, incomplete)]
    with contextlib.suppress(Exception):
        from agavepy.agave import Agave

        url = (ctx.params or {}).get("tenants_url")
        with Agave(tenants_url=url, prompt=False, timeout=TENANTS_TIMEOUT) as ag:
            codes += ag.tenants.list().codes()
    return _items(codes, incomplete)


class Tier(click.ParamType):
    """A tier in any case, given back in its canonical spelling; errors list them as the docs
    spell them (``Bronze``), not lower-cased as ``click.Choice`` would."""

    name = "tier"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:
        return "[" + "|".join(TIERS) + "]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        known = canonical_tier(str(value))
        if known is None:
            self.fail(f"{value!r} is not a tier: use one of {', '.join(TIERS)} (any case)")
        return known

    def shell_complete(self, ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
        return [CompletionItem(t) for t in TIERS if t.lower().startswith(incomplete.lower())]
