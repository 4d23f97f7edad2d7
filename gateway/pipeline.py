"""The one guarded path every call takes, whichever face it came in on.

A face (REST, MCP, the approval executor) parses its protocol once into an immutable
:class:`CallRequest` and hands it to :meth:`Pipeline.run`; what comes back is an
:data:`~gateway.outcomes.Outcome`, a small frozen type saying what happened, which the
face renders. Nothing protocol-specific goes below the face.

A stage is an async callable ``outcome = await stage(call, proceed)``. It may act
before and after ``proceed``, and it ends a call either by returning an outcome of its
own or by raising a :class:`schemas.errors.GatewayError`, which the pipeline turns into
:class:`~gateway.outcomes.Refused` right where it was raised. Wrapping stages (record,
measure, idempotency, budgets, limits) decide from the *type* of the outcome they get
back, never from which fields of the call happen to be empty.

:class:`Call` holds what the stages learn on the way in (who, which operation, the
validated input, the policy trail, the attempts): the facts the audit event is made
of. Outcomes travel back out; facts never decide an outcome.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from adapters.base import Operation
from gateway.identity import Agent
from gateway.outcomes import Outcome, Received, Refused
from schemas.audit import ApprovalRecord, Attempt, Decision
from schemas.errors import FieldError, GatewayError, InternalError

if TYPE_CHECKING:  # the snapshot's engine decides calls, so it imports this module
    from gateway.reload.in_force import ConfigInForce, Reloadable


class InputSource(Protocol):
    """Where the call's input comes from: the protocol face reads it only when asked,
    so unauthenticated or forbidden calls never have their bodies parsed."""

    async def read(self) -> bytes: ...


class Path(Enum):
    """Which variant of the path a call takes; stages declare where they apply."""

    AGENT = "agent"  # an agent's own call, from any face
    APPROVED = "approved"  # a held call a person approved, run by the approval executor


@dataclass(frozen=True, slots=True)
class ApprovedCall:
    """What the approval executor knows of a held call a person approved."""

    agent_id: str
    record: ApprovalRecord


@dataclass(frozen=True, slots=True)
class CallRequest:
    """One call as its face parsed it, once. Values that need checking against rules
    (on-behalf-of, idempotency key) are carried raw and checked inside the pipeline,
    after the caller is known, so a bad value is refused *and audited*; options the face
    could not even parse travel as ``malformed`` field errors for the same reason."""

    request_id: str
    protocol: str  # rest | mcp | approval
    operation_name: str
    input_source: InputSource
    credentials: str | None = None
    on_behalf_of: str | None = None
    idempotency_key: str | None = None
    dry_run: bool = False
    trace_headers: Mapping[str, str] | None = None  # W3C traceparent/tracestate, if sent
    malformed: tuple[FieldError, ...] = ()
    approved: ApprovedCall | None = None

    @property
    def path(self) -> Path:
        return Path.APPROVED if self.approved is not None else Path.AGENT


@dataclass(slots=True)
class Call:
    """The facts the stages establish about one call on its way in."""

    request: CallRequest
    # the reloadable configuration in force when the call started: one version from
    # identification to the audit event, whatever a reload does meanwhile
    settings: Reloadable | None = None
    started: float = field(default_factory=time.perf_counter)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    agent: Agent | None = None
    operation: Operation | None = None
    on_behalf_of: str | None = None  # set once checked
    idempotency_key: str | None = None  # set once checked (or safe_text of a bad one)
    input: BaseModel | None = None
    input_sha256: str | None = None
    decision: Decision = Decision.NONE
    policy_ids: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    # what log-only (shadow) policies and budgets would have decided: audit only, never
    # shown to the agent, so nobody learns to steer around a rule being trialled
    shadow_decision: Decision | None = None
    shadow_policy_ids: list[str] = field(default_factory=list)
    shadow_reasons: list[str] = field(default_factory=list)
    budgets: list[dict[str, object]] = field(default_factory=list)  # what budgets saw
    attempts: list[Attempt] = field(default_factory=list)
    backend_ms: float | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    # headers every answer carries (RateLimit), the key the adapter attaches to the
    # backend call (derived from the agent's idempotency key), and whether an earlier
    # call with that key ended with an unknown outcome (look it up before sending again)
    response_headers: dict[str, str] = field(default_factory=dict)
    backend_key: str | None = None
    lookup_first: bool = False

    @property
    def request_id(self) -> str:
        return self.request.request_id

    @property
    def in_force(self) -> Reloadable:
        """The configuration pinned on this call (agents, policies, budgets, limits)."""
        if self.settings is None:
            raise InternalError("No configuration was pinned on this call.")
        return self.settings

    @property
    def dry_run(self) -> bool:
        return self.request.dry_run

    @property
    def approval(self) -> ApprovalRecord | None:
        approved = self.request.approved
        return approved.record if approved is not None else None

    @property
    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    @property
    def gateway_ms(self) -> float:
        """Time spent in the gateway itself: the whole call less the backend's share."""
        return max(self.elapsed_ms - (self.backend_ms or 0.0), 0.0)


StageOutcome = Outcome | Received
"""What a stage may return: an outcome, or (only between the backend call and output
validation) the backend's raw answer."""

Proceed = Callable[[Call], Awaitable[StageOutcome]]


class Stage(Protocol):
    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome: ...


def applies(stage: object, path: Path) -> bool:
    """Whether a stage runs on a path: a stage names the paths it skips in ``skip_on``."""
    skipped: frozenset[Path] = getattr(stage, "skip_on", frozenset())
    return path not in skipped


class Pipeline:
    """The stages composed once, at start-up, into one callable per path; ``in_force``
    is read once per call and pinned on it (``Call.settings``)."""

    def __init__(self, stages: Iterable[Stage], in_force: ConfigInForce | None = None) -> None:
        self.stages = tuple(stages)
        self._in_force = in_force
        self._chains = {path: _compose(s for s in self.stages if applies(s, path)) for path in Path}

    async def run(self, request: CallRequest) -> tuple[Call, Outcome]:
        """Run one call; the outermost stage (``Record``) guarantees an outcome."""
        in_force = self._in_force
        call = Call(request, in_force.current if in_force is not None else None)
        outcome = await self._chains[request.path](call)
        if isinstance(outcome, Received):  # only a pipeline without ValidateOutput
            return call, Refused(InternalError("The backend's answer was not validated."))
        return call, outcome


def _compose(stages: Iterable[Stage]) -> Proceed:
    chain: Proceed = _nothing_answered
    for stage in reversed(tuple(stages)):
        chain = _link(stage, chain)
    return chain


async def _nothing_answered(call: Call) -> StageOutcome:
    return Refused(InternalError("No stage answered this call; the pipeline is misconfigured."))


def _link(stage: Stage, proceed: Proceed) -> Proceed:
    async def run(call: Call) -> StageOutcome:
        try:
            return await stage(call, proceed)
        except GatewayError as exc:
            return Refused(exc)

    return run
