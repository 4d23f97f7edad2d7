"""The call to the system of record, through the operation's adapter: the innermost stage.

The call is guarded (``gateway/resilience/guard.py``: read shortcuts, bulkhead, circuit
breaker, retries), and the halts are checked again once a bulkhead slot is held and
before every attempt, so a halt reaches calls that were queued when it was placed. The
adapter bounds each attempt with the operation's timeout and translates its client
library's exceptions; this stage measures the backend's share of the latency and
returns the raw answer (``Received``) or ``Failed``; nothing else leaves it.
"""

from __future__ import annotations

import time

import structlog

from gateway.guardrails.halts import HaltBoard
from gateway.outcomes import Failed, Received
from gateway.pipeline import Call, Proceed, StageOutcome
from gateway.registry import Registry
from gateway.resilience.guard import Resilience
from schemas.errors import BackendError, GatewayError, Halted

log = structlog.get_logger("lastmile.backend")


class CallBackend:
    def __init__(
        self,
        registry: Registry,
        resilience: Resilience,
        halts: HaltBoard,
    ) -> None:
        self._registry = registry
        self._resilience = resilience
        self._halts = halts

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        op = call.operation
        assert op is not None, "Resolve runs first"  # noqa: S101
        assert call.input is not None, "ValidateInput runs first"  # noqa: S101
        assert call.agent is not None, "Identify runs first"  # noqa: S101
        agent_id = call.agent.id

        async def still_allowed() -> None:
            halt = await self._halts.check(agent_id, op.backend, op.name)
            if halt is not None:
                raise Halted(halt.describe(), extras={"halt_id": halt.id})

        adapter = self._registry.adapter_for(op)
        started = time.perf_counter()
        try:
            raw = await self._resilience.call(call, adapter, still_allowed)
        except GatewayError as exc:
            return Failed(exc)
        except Exception:
            log.exception("adapter_bug", request_id=call.request_id, operation=op.name)
            return Failed(
                BackendError(
                    f"The adapter for {op.backend!r} failed while calling {op.name!r}; "
                    f"quote request id {call.request_id} to its owner ({op.owner})."
                )
            )
        finally:
            call.backend_ms = (time.perf_counter() - started) * 1000
        return Received(raw)
