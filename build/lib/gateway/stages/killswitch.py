"""The kill switch, checked right after identification: a halted agent, backend or
operation (or everything) is refused at once; calls already past this stage finish."""

from __future__ import annotations

from gateway.guardrails.halts import HaltBoard
from gateway.pipeline import Invocation, Proceed
from gateway.registry import Registry
from schemas.common import Effect
from schemas.errors import Halted, StateUnavailable


class CheckHalt:
    """``reads_fail_open``: when the state store holding the halts is unreachable, a
    read goes on (noted in the audit event); a write is always refused."""

    def __init__(
        self, halts: HaltBoard, registry: Registry, *, reads_fail_open: bool = False
    ) -> None:
        self._halts = halts
        self._operations = registry.operations
        self._reads_fail_open = reads_fail_open

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        assert inv.agent is not None, "Identify runs first"  # noqa: S101
        op = inv.operation or self._operations.get(inv.operation_name)
        try:
            halt = await self._halts.check(
                inv.agent.id, op.backend if op else None, inv.operation_name
            )
        except StateUnavailable:
            if not (self._reads_fail_open and op is not None and op.effect is Effect.READ):
                raise
            inv.reasons.append("halts not checked: the state store is unavailable")
            halt = None
        if halt is not None:
            raise Halted(halt.describe(), extras={"halt_id": halt.id})
        await proceed(inv)
