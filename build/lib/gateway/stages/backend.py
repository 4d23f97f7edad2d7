"""The call to the system of record, through the operation's adapter.

The call is guarded (``gateway/resilience/guard.py``: read shortcuts, bulkhead, circuit
breaker, retries); the adapter bounds each attempt with the operation's timeout and
translates its client library's exceptions; this stage measures the backend's share of
the latency and guarantees that nothing but a ``schemas.errors.GatewayError`` leaves it.
"""

from __future__ import annotations

import time

import structlog

from gateway.pipeline import Invocation, Proceed
from gateway.registry import Registry
from gateway.resilience.guard import Resilience
from schemas.errors import BackendError, GatewayError

log = structlog.get_logger("lastmile.backend")


class CallBackend:
    def __init__(self, registry: Registry, resilience: Resilience) -> None:
        self._registry = registry
        self._resilience = resilience

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        op = inv.operation
        assert op is not None, "Resolve runs first"  # noqa: S101
        assert inv.input is not None, "ValidateInput runs first"  # noqa: S101
        adapter = self._registry.adapter_for(op)
        started = time.perf_counter()
        try:
            inv.raw_output = await self._resilience.call(inv, adapter)
        except GatewayError:
            raise
        except Exception as exc:
            log.exception("adapter_bug", request_id=inv.request_id, operation=op.name)
            raise BackendError(
                f"The adapter for {op.backend!r} failed while calling {op.name!r}; "
                f"quote request id {inv.request_id} to its owner ({op.owner})."
            ) from exc
        finally:
            inv.backend_ms = (time.perf_counter() - started) * 1000
        await proceed(inv)
