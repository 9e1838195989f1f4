"""``bench.load.combine``: rounds of one load summed into one result, nothing invented."""

from __future__ import annotations

import pytest
from bench.load import Result, combine


def _round(rps: float, seconds: float, p50: float, p99: float, cpu_ms: float) -> Result:
    return Result(
        label="r",
        rps=rps,
        requests=int(rps * seconds),
        errors={},
        p50=p50,
        p99=p99,
        max=p99 * 2,
        elapsed_s=seconds,
        client_cpu_s=0.1,
        load_average=1.0,
        server_cpu_ms=cpu_ms,
    )


def test_throughput_and_cpu_are_over_all_requests() -> None:
    fast, slow = _round(1000, 2.0, 1.0, 3.0, 0.1), _round(500, 2.0, 2.0, 9.0, 0.3)
    both = combine("me", [fast, slow])
    assert both.requests == 3000
    assert both.rps == pytest.approx(750.0)  # not the mean of the rates' reciprocals
    assert both.server_cpu_ms == pytest.approx((0.1 * 2000 + 0.3 * 1000) / 3000)
    assert both.p99 == 9.0 and both.max == 18.0  # the worst round's tail


def test_errors_add_up_by_kind() -> None:
    a, b = _round(100, 1.0, 1, 2, 0.1), _round(100, 1.0, 1, 2, 0.1)
    a.errors, b.errors = {"status 500": 2}, {"status 500": 1, "timeout": 4}
    assert combine("x", [a, b]).errors == {"status 500": 3, "timeout": 4}


def test_no_rounds_is_an_error() -> None:
    with pytest.raises(ValueError, match="at least one round"):
        combine("x", [])
