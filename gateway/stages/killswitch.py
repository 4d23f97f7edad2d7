"""The kill switch, checked right after identification: a halted agent, backend or
operation (or everything) is refused at once; calls already past this stage finish."""

from __future__ import annotations

from gateway.guardrails.halts import HaltBoard
from gateway.pipeline import Call, Proceed, StageOutcome
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

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        assert call.agent is not None, "Identify runs first"  # noqa: S101
        name = call.request.operation_name
        op = call.operation or self._operations.get(name)
        try:
            halt = await self._halts.check(call.agent.id, op.backend if op else None, name)
        except StateUnavailable:
            if not (self._reads_fail_open and op is not None and op.effect is Effect.READ):
                raise
            call.reasons.append("halts not checked: the state store is unavailable")
            halt = None
        if halt is not None:
            raise Halted(halt.describe(), extras={"halt_id": halt.id})
        return await proceed(call)
