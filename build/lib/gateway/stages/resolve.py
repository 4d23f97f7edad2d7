"""Which operation is meant, and whether this agent's allow-list admits it."""

from __future__ import annotations

from gateway.pipeline import Invocation, Proceed
from gateway.registry import Registry
from schemas.audit import Decision
from schemas.errors import Forbidden, UnknownOperation


class Resolve:
    def __init__(self, registry: Registry) -> None:
        self._operations = registry.operations

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        op = self._operations.get(inv.operation_name)
        if op is None:
            raise UnknownOperation(
                f"There is no operation named {inv.operation_name[:100]!r}. "
                "List the operations you may call with GET /v1/operations."
            )
        inv.operation = op
        await proceed(inv)


class CheckScope:
    """The coarse allow-list from config; finer policy decides after input validation."""

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        assert inv.agent is not None, "Identify runs first"  # noqa: S101
        assert inv.operation is not None, "Resolve runs first"  # noqa: S101
        if not inv.agent.may_call(inv.operation.name):
            inv.decision = Decision.DENY
            raise Forbidden(
                f"Agent {inv.agent.id!r} may not call {inv.operation.name!r}. Its allowed "
                "operations are listed by GET /v1/operations; ask its owner "
                f"({inv.agent.owner}) if it needs more."
            )
        inv.decision = Decision.ALLOW
        await proceed(inv)
