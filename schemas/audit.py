"""The audit event: one per invocation whatever its outcome, and one per administrative act.

Every capability fills its part: guardrails the decision, policy ids, reasons and the
approval; resilience the attempts and the idempotency key; adapters the backend
reference and, where they can read it, the state before and after a write.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from schemas.common import Effect


class EventKind(StrEnum):
    CALL = "call"  # an agent invoked an operation
    ADMIN = "admin"  # a person acted: halt, resume, approval decision, policy reload, key change


class Decision(StrEnum):
    """What the gateway decided about a call before (or instead of) running it."""

    ALLOW = "allow"
    DENY = "deny"
    APPROVAL_REQUIRED = "approval_required"
    DRY_RUN = "dry_run"
    NONE = "none"  # the call ended before a decision (bad credentials, unknown operation)


class Attempt(BaseModel):
    """One try at the backend; retries add more."""

    model_config = ConfigDict(frozen=True)

    number: int
    duration_ms: float
    error_code: str | None = None  # None: this attempt succeeded
    detail: str | None = None


class ApprovalRecord(BaseModel):
    """The human decision a held call waited for."""

    model_config = ConfigDict(frozen=True)

    approval_id: str
    status: str  # pending | approved | rejected | expired
    approver: str | None = None
    reason: str | None = None
    decided_at: datetime | None = None


class AuditEvent(BaseModel):
    """Who did what, on whose behalf, what was decided and how it ended.

    Secrets never enter this model: credentials are reduced to the agent id before
    the event is built, and the input is the validated (and redacted) canonical input,
    with a hash of the full input so it can still be matched.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str
    kind: EventKind = EventKind.CALL
    time: datetime
    request_id: str
    protocol: str
    agent_id: str | None
    agent_owner: str | None
    on_behalf_of: str | None
    operation: str
    backend: str | None
    effect: Effect | None
    decision: Decision
    shadow_decision: Decision | None = None  # what a log-only policy or limit would have done
    policy_ids: list[str] = Field(default_factory=list)
    reasons: list[str] = Field(default_factory=list)
    approval: ApprovalRecord | None = None
    outcome: str  # "ok" or the problem code
    status: int
    detail: str | None = None
    input: dict[str, Any] | None = None
    input_sha256: str | None = None
    idempotency_key: str | None = None
    replayed: bool = False  # answered from a stored result, backend untouched
    dry_run: bool = False
    attempts: list[Attempt] = Field(default_factory=list)
    backend_reference: str | None = None  # e.g. the created document number
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    gateway_ms: float
    backend_ms: float | None = None
    # the version of the reloadable configuration in force (absent from older events)
    config_version: int | None = None
    # administrative events
    actor: str | None = None  # the staff member who acted
    action: str | None = None  # halt | resume | approve | reject | policy_reload | key_change ...
    target: str | None = None  # what the action applied to
