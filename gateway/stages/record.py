"""The outermost stage but one: every call ends here, whatever happened, and leaves an
audit event before the answer.

It is the pipeline's ``finally``: anything unexpected becomes a ``Failed`` with
``internal_error`` (logged with its stack for engineers, never shown to the agent).
Every outcome leaves through here, so this is where error texts are scrubbed once for
every face (REST, MCP, approval documents) and for the trail itself.
"""

from __future__ import annotations

import uuid

import structlog

from gateway.audit.store import AuditStore
from gateway.guardrails.redaction import Redactor
from gateway.guardrails.safety import scrub, scrub_error
from gateway.outcomes import (
    Answered,
    Failed,
    Held,
    Outcome,
    Previewed,
    Received,
    Refused,
    Replayed,
    code_of,
    error_of,
    final,
    status_of,
)
from gateway.pipeline import Call, Proceed, StageOutcome
from schemas.audit import ApprovalRecord, Attempt, AuditEvent
from schemas.errors import InternalError

log = structlog.get_logger("lastmile.call")


class Record:
    """The console's live view follows the store, not this stage (gateway/audit/feed.py):
    every process's calls reach it, and a call costs nothing more when nobody watches."""

    def __init__(self, store: AuditStore, redactor: Redactor | None = None) -> None:
        self._store = store
        self._redactor = redactor or Redactor()

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        try:
            outcome = _settled(await proceed(call))
        except Exception:
            log.exception("unexpected_error", request_id=call.request_id)
            outcome = Failed(
                InternalError(
                    f"The gateway failed unexpectedly; quote request id {call.request_id} "
                    "when reporting it."
                )
            )
        ending = final(outcome)
        if isinstance(ending, Refused | Failed):
            scrub_error(ending.error)
        # Durable before the answer; the store also ships it to stdout as one JSON line.
        event = audit_event(call, outcome, self._redactor)
        await self._store.append(event)
        return outcome


def _settled(outcome: StageOutcome) -> Outcome:
    if isinstance(outcome, Received):  # a pipeline missing ValidateOutput: never pass it on
        return Failed(InternalError("The backend's answer was not validated."), answered=True)
    return outcome


def audit_event(call: Call, outcome: Outcome, redactor: Redactor | None = None) -> AuditEvent:
    """The call's audit event; sensitive input fields are redacted (the hash of the full
    input stays), the detail and attempt details are scrubbed of anything secret, and
    shadow verdicts (never shown to the agent) are recorded here."""
    op = call.operation
    agent = call.agent
    redactor = redactor or Redactor()
    data = None
    if call.input is not None:
        data = redactor.redact(type(call.input), call.input.model_dump(mode="json"))
    ending = final(outcome)
    error = error_of(outcome)
    detail = error.detail if error is not None else None
    if isinstance(ending, Previewed):
        detail = f"dry run: would {ending.report['decision']}"
    reference = ending.backend_reference if isinstance(ending, Answered) else None
    return AuditEvent(
        event_id=uuid.uuid4().hex,
        time=call.time,
        request_id=call.request_id,
        protocol=call.request.protocol,
        agent_id=agent.id if agent else None,
        agent_owner=agent.owner if agent else None,
        on_behalf_of=call.on_behalf_of,
        operation=call.request.operation_name,
        backend=op.backend if op else None,
        effect=op.effect if op else None,
        decision=call.decision,
        shadow_decision=call.shadow_decision,
        policy_ids=call.policy_ids + call.shadow_policy_ids,
        reasons=call.reasons + call.shadow_reasons,
        approval=_approval(call, ending),
        outcome=code_of(outcome),
        status=status_of(outcome),
        detail=detail,
        input=data,
        input_sha256=call.input_sha256,
        idempotency_key=call.idempotency_key,
        replayed=isinstance(outcome, Replayed),
        dry_run=call.dry_run,
        attempts=[_scrubbed(a) for a in call.attempts],
        backend_reference=reference,
        before=call.before,
        after=call.after,
        config_version=call.settings.version if call.settings is not None else None,
        gateway_ms=round(call.gateway_ms, 3),
        backend_ms=round(call.backend_ms, 3) if call.backend_ms is not None else None,
    )


def _approval(call: Call, ending: Outcome) -> ApprovalRecord | None:
    if isinstance(ending, Held):
        return ApprovalRecord(approval_id=ending.approval_id, status="pending")
    return call.approval


def _scrubbed(attempt: Attempt) -> Attempt:
    if attempt.detail is None:
        return attempt
    return attempt.model_copy(update={"detail": scrub(attempt.detail)})
