"""The outermost stage: every call ends here, whatever happened, and leaves an audit event.

It is the pipeline's ``finally``: errors raised by inner stages become the call's
outcome, anything unexpected becomes an ``internal_error`` (logged with its stack for
engineers, never shown to the agent), and the event is durable before the answer.
"""

from __future__ import annotations

import uuid

import structlog

from gateway.audit.store import AuditStore
from gateway.guardrails.redaction import Redactor
from gateway.guardrails.safety import scrub
from gateway.pipeline import Invocation, Proceed
from schemas.audit import AuditEvent
from schemas.errors import GatewayError, InternalError

log = structlog.get_logger("lastmile.call")


class Record:
    def __init__(self, store: AuditStore, redactor: Redactor | None = None) -> None:
        self._store = store
        self._redactor = redactor or Redactor()

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        try:
            await proceed(inv)
        except GatewayError as exc:
            inv.error = exc
        except Exception:
            log.exception("unexpected_error", request_id=inv.request_id)
            inv.error = InternalError(
                f"The gateway failed unexpectedly; quote request id {inv.request_id} when "
                "reporting it."
            )
        # Durable before the answer; the store also ships it to stdout as one JSON line.
        await self._store.append(audit_event(inv, self._redactor))


def audit_event(inv: Invocation, redactor: Redactor | None = None) -> AuditEvent:
    """The call's audit event; sensitive input fields are redacted (the hash of the full
    input stays), and the detail is scrubbed of anything secret."""
    error = inv.error
    op = inv.operation
    agent = inv.agent
    redactor = redactor or Redactor()
    data = None
    if inv.input is not None:
        data = redactor.redact(type(inv.input), inv.input.model_dump(mode="json"))
    detail = scrub(error.detail) if error else None
    if inv.preview is not None:
        detail = f"dry run: would {inv.preview['decision']}"
    return AuditEvent(
        event_id=uuid.uuid4().hex,
        time=inv.time,
        request_id=inv.request_id,
        protocol=inv.protocol,
        agent_id=agent.id if agent else None,
        agent_owner=agent.owner if agent else None,
        on_behalf_of=inv.on_behalf_of,
        operation=inv.operation_name,
        backend=op.backend if op else None,
        effect=op.effect if op else None,
        decision=inv.decision,
        shadow_decision=inv.shadow_decision,
        policy_ids=inv.policy_ids,
        reasons=inv.reasons,
        approval=inv.approval,
        outcome=error.code if error else "ok",
        status=error.status if error else 200,
        detail=detail,
        input=data,
        input_sha256=inv.input_sha256,
        idempotency_key=inv.idempotency_key,
        replayed=inv.replayed,
        dry_run=inv.dry_run,
        attempts=inv.attempts,
        backend_reference=inv.backend_reference,
        before=inv.before,
        after=inv.after,
        gateway_ms=round(inv.gateway_ms, 3),
        backend_ms=round(inv.backend_ms, 3) if inv.backend_ms is not None else None,
    )
