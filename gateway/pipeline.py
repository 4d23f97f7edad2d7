"""The one guarded path every call takes, whichever protocol it came in on.

An :class:`Invocation` is the state of one call (like tenacity's ``RetryCallState``):
the API builds it, each stage reads what earlier stages put there and adds its own,
and the record stage turns it into the audit event. A stage is an async callable
``stage(invocation, proceed)``; it may act before and after ``await proceed(inv)``
or end the call by raising a ``schemas.errors.GatewayError``. The order of the
stages is data, in :func:`standard_stages`, visible in one place.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from pydantic import BaseModel

from adapters.base import Canonical, Operation
from gateway.identity import Agent
from schemas.audit import ApprovalRecord, Attempt, Decision
from schemas.errors import GatewayError


class InputSource(Protocol):
    """Where the call's input comes from: the protocol face reads it only when asked,
    so unauthenticated or forbidden calls never have their bodies parsed."""

    async def read(self) -> bytes: ...


@dataclass(slots=True)
class Invocation:
    """Everything one call collects on its way through the pipeline."""

    request_id: str
    protocol: str
    operation_name: str
    credentials: str | None
    input_source: InputSource
    on_behalf_of: str | None = None
    trace_headers: Mapping[str, str] | None = None  # W3C traceparent/tracestate, if sent
    idempotency_key: str | None = None
    dry_run: bool = False
    started: float = field(default_factory=time.perf_counter)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    agent: Agent | None = None
    operation: Operation | None = None
    input: BaseModel | None = None
    input_sha256: str | None = None
    raw_output: Canonical | None = None
    output: BaseModel | None = None
    visible_output: dict[str, Any] | None = None  # the output as this agent may see it
    preview: dict[str, Any] | None = None  # a dry run's report: decision, budgets, payload
    decision: Decision = Decision.NONE
    shadow_decision: Decision | None = None
    policy_ids: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    approval: ApprovalRecord | None = None
    replayed: bool = False
    attempts: list[Attempt] = field(default_factory=list)
    backend_reference: str | None = None
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    error: GatewayError | None = None
    backend_ms: float | None = None
    # resilience: headers every answer carries (RateLimit), the key the adapter attaches to
    # the backend call (derived from the agent's idempotency key), and whether an earlier
    # call with that key ended with an unknown outcome (look it up before sending again)
    response_headers: dict[str, str] = field(default_factory=dict)
    backend_key: str | None = None
    lookup_first: bool = False

    @property
    def elapsed_ms(self) -> float:
        return (time.perf_counter() - self.started) * 1000

    @property
    def gateway_ms(self) -> float:
        """Time spent in the gateway itself: the whole call less the backend's share."""
        return max(self.elapsed_ms - (self.backend_ms or 0.0), 0.0)


Proceed = Callable[[Invocation], Awaitable[None]]


class Stage(Protocol):
    async def __call__(self, inv: Invocation, proceed: Proceed) -> None: ...


class Pipeline:
    """The stages composed once, at start-up, into one callable."""

    def __init__(self, stages: Sequence[Stage]) -> None:
        self.stages = tuple(stages)
        chain: Proceed = _done
        for stage in reversed(self.stages):
            chain = _link(stage, chain)
        self._chain = chain

    async def run(self, inv: Invocation) -> Invocation:
        await self._chain(inv)
        return inv


async def _done(inv: Invocation) -> None:
    return None


def _link(stage: Stage, proceed: Proceed) -> Proceed:
    async def run(inv: Invocation) -> None:
        await stage(inv, proceed)

    return run
