"""Which operation is meant, and whether this agent's allow-list admits it."""

from __future__ import annotations

from gateway.pipeline import Call, Proceed, StageOutcome
from gateway.registry import Registry
from schemas.audit import Decision
from schemas.errors import Forbidden, UnknownOperation


class Resolve:
    def __init__(self, registry: Registry) -> None:
        self._operations = registry.operations

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        name = call.request.operation_name
        op = self._operations.get(name)
        if op is None:
            raise UnknownOperation(
                f"There is no operation named {name[:100]!r}. "
                "List the operations you may call with GET /v1/operations."
            )
        call.operation = op
        return await proceed(call)


class CheckScope:
    """The coarse allow-list from config; finer policy decides after input validation."""

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        assert call.agent is not None, "Identify runs first"  # noqa: S101
        assert call.operation is not None, "Resolve runs first"  # noqa: S101
        if not call.agent.may_call(call.operation.name):
            call.decision = Decision.DENY
            raise Forbidden(
                f"Agent {call.agent.id!r} may not call {call.operation.name!r}. Its allowed "
                "operations are listed by GET /v1/operations; ask its owner "
                f"({call.agent.owner}) if it needs more."
            )
        call.decision = Decision.ALLOW
        return await proceed(call)
