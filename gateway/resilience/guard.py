"""The guarded backend call: read shortcuts, then bulkhead -> circuit breaker -> retry ->
the adapter's own timeout, with every attempt recorded on the call.

``before_attempt`` runs once a bulkhead slot is held and again before every attempt:
the halt check, so an operator's halt reaches calls that were already queued or are
between retries (a call leaving the queue after a halt never reaches the backend).

Which calls may be retried: reads, writes idempotent by nature, and writes that carry an
idempotency key. A keyed write that timed out may have been recorded; it is sent again
only after the adapter's lookup (by the external reference the write carried) found
nothing, and never if the adapter has no lookup. ``503`` and refused connections prove
the write was not taken, so those are retried.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from pydantic import BaseModel

from adapters.base import Adapter, Canonical, Operation
from gateway.config import Config
from gateway.config.resilience import BulkheadConfig, RetryConfig
from gateway.pipeline import Call
from gateway.resilience.breaker import CircuitBreaker
from gateway.resilience.bulkhead import Bulkhead
from gateway.resilience.reads import ReadShortcuts
from gateway.resilience.retry import RetryPolicy
from gateway.resilience.timing import Timing
from schemas.audit import Attempt
from schemas.common import Effect
from schemas.errors import BackendTimeout, GatewayError, Halted, TransientBackendError

BeforeAttempt = Callable[[], Awaitable[None]]


async def _nothing() -> None:
    return None


class Resilience:
    """Per-backend bulkheads and breakers, retry policies and read shortcuts of one app."""

    def __init__(self, config: Config, timing: Timing) -> None:
        self.config = config.resilience
        self.timing = timing
        self.bulkheads: dict[str, Bulkhead] = {}
        self.breakers: dict[str, CircuitBreaker] = {}
        defaults = self.config.defaults
        for name in config.backends:
            own = self.config.backends.get(name)
            bulkhead: BulkheadConfig = (own.bulkhead if own else None) or defaults.bulkhead
            breaker = (own.breaker if own else None) or defaults.breaker
            self.bulkheads[name] = Bulkhead(name, bulkhead)
            self.breakers[name] = CircuitBreaker(name, breaker, timing.clock)
        self.reads = ReadShortcuts(timing.clock, self.config.read_cache_entries)

    def report(self) -> dict[str, dict[str, object]]:
        """Each backend's breaker state and bulkhead depth now, in the JSON shape a
        process sends with its heartbeat (the console's Now page reads it per process)."""
        return {
            "breakers": {name: b.state.value for name, b in self.breakers.items()},
            "bulkheads": {
                name: {"in_flight": b.in_flight, "waiting": b.waiting}
                for name, b in self.bulkheads.items()
            },
        }

    def retry_config(self, op: Operation) -> RetryConfig:
        own = self.config.operations.get(op.name)
        backend = self.config.backends.get(op.backend)
        return (
            (own.retry if own else None)
            or (backend.retry if backend else None)
            or self.config.defaults.retry
        )

    async def call(
        self, call: Call, adapter: Adapter, before_attempt: BeforeAttempt = _nothing
    ) -> Canonical:
        op, agent, payload = call.operation, call.agent, call.input
        assert op is not None  # noqa: S101 - stage order
        assert agent is not None  # noqa: S101
        assert payload is not None  # noqa: S101
        own = self.config.operations.get(op.name)
        if op.effect is Effect.READ and own is not None and (own.cache_ttl_s or own.coalesce):
            key = (agent.id, op.name, payload.model_dump_json())
            value, source = await self.reads.fetch(
                key,
                own.cache_ttl_s,
                own.coalesce,
                lambda: self._guarded(call, adapter, before_attempt),
            )
            if source != "backend":
                call.reasons.append(f"answered by a {source} read")
            return value
        return await self._guarded(call, adapter, before_attempt)

    async def _guarded(
        self, call: Call, adapter: Adapter, before_attempt: BeforeAttempt
    ) -> Canonical:
        op = call.operation
        assert op is not None  # noqa: S101
        breaker = self.breakers[op.backend]
        async with self.bulkheads[op.backend].slot():
            await before_attempt()
            breaker.admit()
            try:
                result = await self._with_retries(call, op, adapter, before_attempt)
            except Halted:
                raise  # says nothing about the backend's health
            except BaseException as exc:
                breaker.record(exc)
                raise
            breaker.record(None)
            return result

    async def _with_retries(
        self, call: Call, op: Operation, adapter: Adapter, before_attempt: BeforeAttempt
    ) -> Canonical:
        payload = call.input
        assert payload is not None  # noqa: S101
        keyed_write = op.effect is Effect.WRITE and call.backend_key is not None
        may_retry = op.effect is Effect.READ or op.idempotent or keyed_write
        unknown = call.lookup_first  # an earlier try may have been recorded: look first

        async def attempt(number: int) -> Canonical:
            nonlocal unknown
            if number > 1:
                await before_attempt()  # the first was checked on entering the slot
            started = time.perf_counter()
            try:
                if unknown and keyed_write and op.lookup:
                    found = await _look_up(adapter, op, payload, call.backend_key)
                    if found is not None:
                        call.attempts.append(
                            _attempt(number, started, None, "found by its external reference")
                        )
                        return found
                result = await _send(adapter, op, payload, call.backend_key)
            except GatewayError as exc:
                call.attempts.append(_attempt(number, started, exc.code, exc.detail))
                if isinstance(exc, BackendTimeout) and op.effect is Effect.WRITE:
                    unknown = True
                raise
            call.attempts.append(_attempt(number, started, None, None))
            return result

        def retryable(exc: BaseException) -> bool:
            if not may_retry or not isinstance(exc, TransientBackendError):
                return False
            blind_resend = isinstance(exc, BackendTimeout) and not op.idempotent
            return not (blind_resend and op.effect is Effect.WRITE and not op.lookup)

        return await RetryPolicy(self.retry_config(op), self.timing).run(attempt, retryable)


async def _send(
    adapter: Adapter, op: Operation, payload: BaseModel, backend_key: str | None
) -> Canonical:
    if op.external_reference and backend_key is not None:
        return await adapter.call(op, payload, backend_key=backend_key)
    return await adapter.call(op, payload)


async def _look_up(
    adapter: Adapter, op: Operation, payload: BaseModel, backend_key: str | None
) -> Canonical | None:
    assert backend_key is not None  # noqa: S101 - keyed writes only
    return await adapter.lookup(op, payload, backend_key)


def _attempt(number: int, started: float, code: str | None, detail: str | None) -> Attempt:
    duration = round((time.perf_counter() - started) * 1000, 3)
    return Attempt(number=number, duration_ms=duration, error_code=code, detail=detail)
