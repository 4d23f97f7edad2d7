"""A circuit breaker per backend: closed, open, half-open.

Closed: calls pass; consecutive failures are counted. At ``failure_threshold`` the
circuit opens: calls fail fast with ``backend_unavailable`` and a ``Retry-After`` of the
time left until ``recovery_s`` has passed, so a sick system of record is not hammered
while it recovers. Then it half-opens: ``half_open_calls`` probes go through; a probe that
succeeds closes the circuit, one that fails opens it again for another ``recovery_s``.

Only failures of the backend count (timeouts, unreachable, 5xx): a business error or a
missing record shows a backend that works. Time comes from the injected clock.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from enum import StrEnum

from gateway.config.resilience import BreakerConfig
from schemas.errors import BackendError, CircuitOpen, TransientBackendError, retry_after_headers


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


def is_backend_failure(exc: BaseException) -> bool:
    return isinstance(exc, TransientBackendError) or type(exc) is BackendError


class CircuitBreaker:
    def __init__(self, backend: str, config: BreakerConfig, clock: Callable[[], float]) -> None:
        self.backend = backend
        self._config = config
        self._clock = clock
        self._state = CircuitState.CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probes = 0

    @property
    def state(self) -> CircuitState:
        if self._state is CircuitState.OPEN and self._reopens_in() <= 0:
            self._state = CircuitState.HALF_OPEN
            self._probes = 0
        return self._state

    def _reopens_in(self) -> float:
        return self._opened_at + self._config.recovery_s - self._clock()

    def admit(self) -> None:
        """Let a call through, or raise :class:`CircuitOpen`."""
        state = self.state
        if state is CircuitState.CLOSED:
            return
        if state is CircuitState.HALF_OPEN and self._probes < self._config.half_open_calls:
            self._probes += 1
            return
        wait = max(self._reopens_in(), 1.0)
        raise CircuitOpen(
            f"The {self.backend} system failed {self._config.failure_threshold} time(s) in a "
            "row, so the gateway stops calling it for a while to let it recover. Retry after "
            f"the Retry-After header's seconds; nothing was sent to {self.backend}.",
            headers=retry_after_headers(wait),
        )

    def record(self, exc: BaseException | None) -> None:
        """The outcome of an admitted call (None: success)."""
        if isinstance(exc, asyncio.CancelledError):
            if self._state is CircuitState.HALF_OPEN:
                self._probes = max(self._probes - 1, 0)  # the probe never finished
            return
        if exc is None or not is_backend_failure(exc):
            self._state, self._failures, self._probes = CircuitState.CLOSED, 0, 0
            return
        self._failures += 1
        if self._state is CircuitState.HALF_OPEN or self._failures >= (
            self._config.failure_threshold
        ):
            self._state = CircuitState.OPEN
            self._opened_at = self._clock()
