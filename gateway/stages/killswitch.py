"""The kill switch, checked right after identification: a halted agent, backend or
operation (or everything) is refused at once; calls already past this stage finish."""

from __future__ import annotations

from gateway.guardrails.halts import HaltBoard
from gateway.pipeline import Invocation, Proceed
from gateway.registry import Registry
from schemas.errors import Halted


class CheckHalt:
    def __init__(self, halts: HaltBoard, registry: Registry) -> None:
        self._halts = halts
        self._operations = registry.operations

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        assert inv.agent is not None, "Identify runs first"  # noqa: S101
        op = inv.operation or self._operations.get(inv.operation_name)
        halt = await self._halts.check(inv.agent.id, op.backend if op else None, inv.operation_name)
        if halt is not None:
            raise Halted(halt.describe(), extras={"halt_id": halt.id})
        await proceed(inv)
