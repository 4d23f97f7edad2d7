"""The kill switch: halts of all traffic, one agent, one backend or one operation.

Halts are records in the :class:`~gateway.state.StateStore` (so several gateway
processes sharing a store share them), keyed by scope and target. The id of a halt is
its scope and target (``agent:support-bot``), so halting twice is harmless and a
resume needs no lookup. A small index record lists the live halts for operators.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from enum import StrEnum

from gateway.state import StateStore

_FOREVER_S = 100 * 365 * 86400.0
_INDEX = "halt:index"


class HaltScope(StrEnum):
    ALL = "all"
    AGENT = "agent"
    BACKEND = "backend"
    OPERATION = "operation"


@dataclass(frozen=True, slots=True)
class Halt:
    id: str
    scope: HaltScope
    target: str
    reason: str
    operator: str
    since: str

    def describe(self) -> str:
        what = "all traffic" if self.scope is HaltScope.ALL else f"{self.scope} {self.target!r}"
        return (
            f"{what} is halted by operator {self.operator} since {self.since}: {self.reason}. "
            "Do not retry until an operator resumes it."
        )


def halt_id(scope: HaltScope, target: str) -> str:
    return "all" if scope is HaltScope.ALL else f"{scope.value}:{target}"


class HaltBoard:
    def __init__(self, state: StateStore) -> None:
        self._state = state

    async def halt(self, scope: HaltScope, target: str, reason: str, operator: str) -> Halt:
        target = "*" if scope is HaltScope.ALL else target
        halt = Halt(
            halt_id(scope, target),
            scope,
            target,
            reason,
            operator,
            datetime.now(UTC).isoformat(timespec="seconds"),
        )
        await self._state.put(f"halt:{halt.id}", json.dumps(asdict(halt)).encode(), _FOREVER_S)
        ids = await self._index()
        if halt.id not in ids:
            await self._write_index([*ids, halt.id])
        return halt

    async def resume(self, halt_id_: str) -> Halt | None:
        halt = await self.get(halt_id_)
        await self._state.delete(f"halt:{halt_id_}")
        await self._write_index([i for i in await self._index() if i != halt_id_])
        return halt

    async def get(self, halt_id_: str) -> Halt | None:
        raw = await self._state.get(f"halt:{halt_id_}")
        if raw is None:
            return None
        data = json.loads(raw)
        data["scope"] = HaltScope(data["scope"])
        return Halt(**data)

    async def all(self) -> list[Halt]:
        found = [await self.get(i) for i in await self._index()]
        return [h for h in found if h is not None]

    async def check(self, agent_id: str, backend: str | None, operation: str) -> Halt | None:
        """The first halt that stops this call: all, then agent, backend, operation."""
        ids = ["all", f"agent:{agent_id}", f"operation:{operation}"]
        if backend is not None:
            ids.insert(2, f"backend:{backend}")
        for candidate in ids:
            halt = await self.get(candidate)
            if halt is not None:
                return halt
        return None

    async def _index(self) -> list[str]:
        raw = await self._state.get(_INDEX)
        return list(json.loads(raw)) if raw else []

    async def _write_index(self, ids: list[str]) -> None:
        await self._state.put(_INDEX, json.dumps(ids).encode(), _FOREVER_S)
