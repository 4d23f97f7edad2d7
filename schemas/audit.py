"""The audit event: one per invocation, whatever its outcome."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.common import Effect


class Decision(StrEnum):
    """What the gateway decided about a call before (or instead of) running it."""

    ALLOW = "allow"
    DENY = "deny"
    NONE = "none"  # the call ended before a decision (bad credentials, unknown operation)


class AuditEvent(BaseModel):
    """Who did what, on whose behalf, what was decided and how it ended.

    Secrets never enter this model: credentials are reduced to the agent id before
    the event is built, and the input is the validated canonical input.
    """

    model_config = ConfigDict(frozen=True)

    event_id: str
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
    outcome: str  # "ok" or the problem code
    status: int
    detail: str | None = None
    input: dict[str, Any] | None = None
    input_sha256: str | None = None
    gateway_ms: float
    backend_ms: float | None = None
