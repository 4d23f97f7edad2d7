"""The kill switch, checked right after identification: a halted agent, backend or
operation (or everything) is refused at once; calls already past this stage finish
(``CallBackend`` checks again before every attempt).

The check never fails open: a board that cannot vouch for its view of the halts raises
``halt_state_unknown`` (503), whatever the call's effect; ``state.reads_fail_open``
applies to rate limits only.
"""

from __future__ import annotations

from gateway.guardrails.halts import HaltBoard
from gateway.pipeline import Call, Proceed, StageOutcome
from gateway.registry import Registry
from schemas.errors import Halted


class CheckHalt:
    def __init__(self, halts: HaltBoard, registry: Registry) -> None:
        self._halts = halts
        self._operations = registry.operations

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        assert call.agent is not None, "Identify runs first"  # noqa: S101
        name = call.request.operation_name
        op = call.operation or self._operations.get(name)
        halt = await self._halts.check(call.agent.id, op.backend if op else None, name)
        if halt is not None:
            raise Halted(halt.describe(), extras={"halt_id": halt.id})
        return await proceed(call)
