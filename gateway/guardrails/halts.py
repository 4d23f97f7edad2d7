"""The kill switch: halts of all traffic, one agent, one backend or one operation.

The id of a halt is its scope and target (``agent:support-bot``), so halting twice is
harmless and a resume needs no lookup. Two boards keep them behind one protocol:

- :class:`StateHaltBoard` (the embedded default): records in the
  :class:`~gateway.state.StateStore`, read on every check;
- :class:`~gateway.guardrails.halts_postgres.PostgresHaltBoard` (the fleet): PostgreSQL
  is the source of truth, pushed to every process, which checks its own fresh copy.

Either way the check never fails open: a board that cannot read its store, or whose
copy is not known to be fresh, raises :class:`~schemas.errors.HaltStateUnknown`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

from gateway.state import StateStore
from schemas.errors import HaltStateUnknown, StateUnavailable

_FOREVER_S = 100 * 365 * 86400.0


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


@dataclass(frozen=True, slots=True)
class Acknowledgement:
    """Which gateway processes have confirmed a halt change (``version``) is in force.

    ``acknowledged`` means every live process confirmed it: from then on no process
    admits a call the change stops. ``unconfirmed`` names the live processes that did not
    confirm before the deadline.
    """

    version: int
    acknowledged: bool
    confirmed: list[str] = field(default_factory=list)
    unconfirmed: list[str] = field(default_factory=list)


def halt_id(scope: HaltScope, target: str) -> str:
    return "all" if scope is HaltScope.ALL else f"{scope.value}:{target}"


def new_halt(scope: HaltScope, target: str, reason: str, operator: str) -> Halt:
    target = "*" if scope is HaltScope.ALL else target
    since = datetime.now(UTC).isoformat(timespec="seconds")
    return Halt(halt_id(scope, target), scope, target, reason, operator, since)


def candidate_ids(agent_id: str, backend: str | None, operation: str) -> list[str]:
    """The halt ids that would stop this call, in the order they are reported."""
    ids = ["all", f"agent:{agent_id}", f"operation:{operation}"]
    if backend is not None:
        ids.insert(2, f"backend:{backend}")
    return ids


def halt_from_json(raw: bytes | str) -> Halt:
    data = json.loads(raw)
    data["scope"] = HaltScope(data["scope"])
    return Halt(**data)


class HaltBoard(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def halt(self, scope: HaltScope, target: str, reason: str, operator: str) -> Halt:
        """Place (or replace) a halt; in force on this process when this returns."""

    async def resume(self, halt_id_: str) -> Halt | None:
        """Lift a halt; None if there was none."""

    async def all(self) -> list[Halt]: ...

    async def check(self, agent_id: str, backend: str | None, operation: str) -> Halt | None:
        """The first halt that stops this call (all, agent, backend, operation)."""

    async def acknowledge(self, within_s: float) -> Acknowledgement:
        """Wait (at most ``within_s``) until every live process confirms the last change
        this process made."""

    def fresh(self) -> bool:
        """Whether this process can vouch for its view of the halts now (for /readyz)."""


class StateHaltBoard:
    """Halts as records in the state store, read on every check.

    Listing probes every id a halt could have (all, each agent, backend and operation
    the gateway knows) instead of keeping an index record, so two processes halting at
    once can never lose each other's listing.
    """

    def __init__(self, state: StateStore, targets: Callable[[], Iterable[str]]) -> None:
        self._state = state
        self._targets = targets

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def halt(self, scope: HaltScope, target: str, reason: str, operator: str) -> Halt:
        halt = new_halt(scope, target, reason, operator)
        payload = json.dumps(asdict(halt)).encode()
        try:
            await self._state.put(f"halt:{halt.id}", payload, _FOREVER_S)
        except StateUnavailable as exc:
            raise StateUnavailable("The halt could not be recorded: " + exc.detail) from None
        return halt

    async def resume(self, halt_id_: str) -> Halt | None:
        halt = await self._get(halt_id_)
        await self._state.delete(f"halt:{halt_id_}")
        return halt

    async def all(self) -> list[Halt]:
        ids = ["all", *self._targets()]
        found = await self._state.get_many([f"halt:{i}" for i in ids])
        return [halt_from_json(raw) for raw in found if raw is not None]

    async def check(self, agent_id: str, backend: str | None, operation: str) -> Halt | None:
        """Every halt that could stop this call, read at once (one round trip to the
        store on every call); the broadest found wins, as the ids come in that order."""
        try:
            ids = candidate_ids(agent_id, backend, operation)
            found = await self._state.get_many([f"halt:{i}" for i in ids])
            for raw in found:
                if raw is not None:
                    return halt_from_json(raw)
        except StateUnavailable:
            raise HaltStateUnknown(
                "The state store holding the halts cannot be read, so no call is admitted; "
                "retry shortly."
            ) from None
        return None

    async def acknowledge(self, within_s: float) -> Acknowledgement:
        """Every process reads the one store on every check: a written halt is in force."""
        return Acknowledgement(version=0, acknowledged=True)

    def fresh(self) -> bool:
        return True

    async def _get(self, halt_id_: str) -> Halt | None:
        raw = await self._state.get(f"halt:{halt_id_}")
        return None if raw is None else halt_from_json(raw)
