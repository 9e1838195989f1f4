"""Subscribe and unsubscribe at the same instant on several processes.

Whatever the interleaving, the client's final subscriptions must equal the
result of running the same operations one after another in SOME order, and
no API may be listed twice: nothing half-applied, nothing duplicated.
"""

from __future__ import annotations

import itertools
import random

import httpx
import pytest

from agavepy.wire import DEFAULT_API_NAMES
from tests.scale.cluster import Account, Cluster, run_together

DEFAULT_APIS = frozenset(DEFAULT_API_NAMES)
ROUNDS = 4

Op = tuple[str, str]  # ("subscribe" | "unsubscribe", apiName or "*")


def apply(state: frozenset[str], op: Op) -> frozenset[str]:
    """The effect of one operation done alone: the serial specification."""
    verb, api = op
    targets = DEFAULT_APIS if api == "*" else frozenset({api})
    return state | targets if verb == "subscribe" else state - targets


def serial_outcomes(start: frozenset[str], ops: list[Op]) -> set[frozenset[str]]:
    """Every final state some serial order of ``ops`` could leave."""
    outcomes = set()
    for order in itertools.permutations(ops):
        state = start
        for op in order:
            state = apply(state, op)
        outcomes.add(state)
    return outcomes


def perform(c: httpx.Client, acct: Account, op: Op) -> httpx.Response:
    verb, api = op
    path = f"/clients/v2/{acct.client_name}/subscriptions"
    if verb == "subscribe":
        return c.post(path, auth=acct.auth, data={"apiName": api})
    # agavepy's generated resource sends the parameters in the query string, no body
    return c.delete(path, auth=acct.auth, params={"apiName": api})


def subscriptions(c: httpx.Client, acct: Account) -> list[str]:
    r = c.get(
        f"/clients/v2/{acct.client_name}/subscriptions", auth=acct.auth, params={"limit": 1000}
    )
    assert r.status_code == 200, r.text
    return [s["apiName"] for s in r.json()["result"]]


def random_ops(rng: random.Random) -> list[Op]:
    apis = sorted(DEFAULT_APIS)
    ops: list[Op] = [("subscribe", "*"), ("unsubscribe", "*")]
    for _ in range(rng.randint(2, 4)):
        ops.append((rng.choice(["subscribe", "unsubscribe"]), rng.choice(apis)))
    rng.shuffle(ops)
    return ops


@pytest.mark.parametrize("round_", range(ROUNDS))
def test_concurrent_subscribe_unsubscribe_is_serialisable(cluster: Cluster, round_: int):
    rng = random.Random(round_)
    acct = cluster.new_account()
    with cluster.clients(len(cluster)) as cs:
        start = frozenset(subscriptions(cs[0], acct))
        assert start == DEFAULT_APIS  # a new client is subscribed to every default API
        if round_ % 2:  # half the rounds start from nothing
            assert perform(cs[0], acct, ("unsubscribe", "*")).is_success
            start = frozenset()
        ops = random_ops(rng)
    with cluster.clients(len(ops)) as cs:
        answers = run_together(
            [lambda c=c, op=op: perform(c, acct, op) for c, op in zip(cs, ops, strict=True)]
        )
        for op, r in zip(ops, answers, strict=True):
            assert r.is_success, (op, r.status_code, r.text)
        for c in (cs[0], cs[-1]):  # two processes read the same, settled state
            final = subscriptions(c, acct)
            assert len(final) == len(set(final)), f"an API listed twice: {sorted(final)}"
            assert frozenset(final) in serial_outcomes(start, ops), (ops, sorted(final))


def test_concurrent_identical_subscribes_all_succeed(cluster: Cluster):
    """Subscribing twice is not an error, even when both arrive at once."""
    acct = cluster.new_account()
    with cluster.clients(len(cluster)) as cs:
        assert perform(cs[0], acct, ("unsubscribe", "*")).is_success
        answers = run_together([lambda c=c: perform(c, acct, ("subscribe", "*")) for c in cs])
        assert all(r.is_success for r in answers), [r.text for r in answers]
        final = subscriptions(cs[0], acct)
        assert sorted(final) == sorted(DEFAULT_APIS)
