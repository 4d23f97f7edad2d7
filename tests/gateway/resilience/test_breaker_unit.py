"""The circuit breaker's states, on a clock the test moves."""

from __future__ import annotations

import asyncio

import pytest

from gateway.config.resilience import BreakerConfig
from gateway.resilience.breaker import CircuitBreaker, CircuitState
from schemas.errors import BackendRejected, BackendTimeout, CircuitOpen
from tests.gateway.resilience.conftest import FakeTime


def test_half_open_admits_only_its_probes_and_a_cancelled_probe_frees_its_slot() -> None:
    time = FakeTime()
    breaker = CircuitBreaker("wms", BreakerConfig(failure_threshold=2, recovery_s=10), time.clock)
    for _ in range(2):
        breaker.admit()
        breaker.record(BackendTimeout("slow"))
    assert breaker.state is CircuitState.OPEN
    time.now += 4
    with pytest.raises(CircuitOpen) as refused:
        breaker.admit()
    assert refused.value.headers["Retry-After"] == "6"

    time.now += 6
    breaker.admit()  # the probe
    with pytest.raises(CircuitOpen):
        breaker.admit()  # a second caller while the probe runs
    breaker.record(asyncio.CancelledError())
    breaker.admit()  # the slot is free again
    breaker.record(BackendRejected("business error"))  # the backend answered: it works
    assert breaker.state is CircuitState.CLOSED


def test_successes_reset_the_count_of_consecutive_failures() -> None:
    breaker = CircuitBreaker("wms", BreakerConfig(failure_threshold=3), FakeTime().clock)
    for outcome in (BackendTimeout("t"), BackendTimeout("t"), None, BackendTimeout("t")):
        breaker.admit()
        breaker.record(outcome)
    assert breaker.state is CircuitState.CLOSED
