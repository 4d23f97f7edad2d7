"""Human approval: calls held with their validated input, decided by approvers, executed once.

The desk stores a held call (input as canonical JSON and its SHA-256), answers status
queries, and on approval runs the stored input (never a new one) through the same
pipeline as every call, on its approved path (identity from the stored agent, no second
policy decision or hold; measured, limited, halted, audited like any call): exactly
once, because only one ``pending -> executing`` move can succeed. Approvals expire
after ``guardrails.approvals.expire_after``, counted on the injected clock. Approvers
are staff; nobody approves a call made on their own behalf.

The store may be shared by a fleet (PostgreSQL) and may become unreachable: then the
desk raises ``ApprovalsUnavailable`` before anything is held or decided. The one step
that cannot be undone is the execution itself; its request id is stored with the move
to ``executing``, so if recording the outcome afterwards fails, the approval stays
``executing`` and names the audited request that carries the outcome.
"""

from __future__ import annotations

import hashlib
import json
import math
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from gateway.guardrails.approval_store import HeldCall, HeldCallStore
from gateway.guardrails.held_preview import Previewer
from gateway.identity import StaffMember
from gateway.outcomes import Answered, Outcome, Refused, error_of, final
from gateway.pipeline import ApprovedCall, Call, CallRequest, Pipeline
from gateway.state import Clock
from schemas.audit import ApprovalRecord
from schemas.errors import (
    ApprovalClosed,
    ApprovalsUnavailable,
    NotFound,
    SelfApproval,
    ValidationFailed,
)
from schemas.patterns import same_person

log = structlog.get_logger("lastmile.approvals")


class StoredInput:
    """The input source of an approved call: the stored canonical input."""

    def __init__(self, raw: bytes) -> None:
        self._raw = raw

    async def read(self) -> bytes:
        return self._raw


def iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()


def is_own_request(member: StaffMember, on_behalf_of: str | None) -> bool:
    """Whether the end user a call was made for is this staff member (their id or a name
    the identity provider gave them, or an e-mail address whose local part is one of
    those), on normalised forms."""
    names = (member.id, *member.also_known_as)
    return bool(on_behalf_of) and any(same_person(on_behalf_of or "", n) for n in names)


class ApprovalDesk:
    def __init__(
        self,
        store: HeldCallStore,
        clock: Clock,
        expire_after_s: float,
    ) -> None:
        self.store = store
        self._clock = clock
        self._expire_after_s = expire_after_s
        self.executor: Pipeline | None = None
        self.on_hold: Callable[[HeldCall], None] | None = None  # told of each held call
        self.previewer: Previewer | None = None  # what a held call would do, stored with it

    async def count_pending(self) -> float:
        """How many held calls wait for a person (for the metrics); NaN, Prometheus's
        "unknown", while the store cannot be reached, so a scrape still answers."""
        try:
            return float(await self.store.count_pending())
        except ApprovalsUnavailable:
            return math.nan

    async def hold(self, call: Call) -> HeldCall:
        assert call.agent is not None, "Identify runs first"  # noqa: S101
        assert call.operation is not None, "Resolve runs first"  # noqa: S101
        assert call.input is not None, "ValidateInput runs first"  # noqa: S101
        canonical = call.input.model_dump_json()
        now = self._clock()
        held = HeldCall(
            id="apr_" + uuid.uuid4().hex,
            status="pending",
            created_at=now,
            expires_at=now + self._expire_after_s,
            request_id=call.request_id,
            agent_id=call.agent.id,
            on_behalf_of=call.on_behalf_of,
            operation=call.operation.name,
            input_json=canonical,
            input_sha256=hashlib.sha256(canonical.encode()).hexdigest(),
            policy_ids=list(call.policy_ids),
            reasons=list(call.reasons),
            preview=await self.previewer(call) if self.previewer is not None else None,
        )
        await self.store.add(held)
        if self.on_hold is not None:
            self.on_hold(held)
        return held

    async def get(self, approval_id: str) -> HeldCall:
        held = await self.store.get(approval_id)
        if held is None:
            raise NotFound(f"There is no approval {approval_id[:80]!r}.")
        return await self._expire(held)

    async def _expire(self, held: HeldCall) -> HeldCall:
        if held.status == "pending" and held.expires_at <= self._clock():
            await self.store.move(held.id, "pending", "expired")
            held.status = "expired"
        return held

    async def find(self, status: str | None) -> list[HeldCall]:
        found = [await self._expire(h) for h in await self.store.find(status, limit=500)]
        return [h for h in found if status is None or h.status == status]

    async def decide(
        self,
        approval_id: str,
        member: StaffMember,
        approve: bool,
        reason: str,
        on_decided: Callable[[HeldCall], Awaitable[None]] | None = None,
    ) -> HeldCall:
        """Reject, or approve and execute; raises if the call is not pending or is the
        approver's own."""
        held = await self.get(approval_id)
        if held.status != "pending":
            raise ApprovalClosed(
                f"Approval {held.id} is {held.status}; only pending approvals can be decided."
            )
        if is_own_request(member, held.on_behalf_of):
            raise SelfApproval(
                f"{member.id!r} cannot decide on a call made on their own behalf "
                f"({held.on_behalf_of}); another approver must decide."
            )
        now = self._clock()
        target = "executing" if approve else "rejected"
        execution = {"execution_request_id": "req_" + uuid.uuid4().hex} if approve else {}
        moved = await self.store.move(
            held.id,
            "pending",
            target,
            decided_by=member.id,
            decided_at=now,
            decision_reason=reason,
            **execution,
        )
        if not moved:
            raise ApprovalClosed(f"Approval {held.id} was decided by someone else meanwhile.")
        held.status, held.decided_by, held.decided_at = target, member.id, now
        held.decision_reason = reason
        held.execution_request_id = execution.get("execution_request_id")
        if on_decided is not None:
            await on_decided(held)  # the decision is on record before the call runs
        if approve:
            await self._execute(held)
        return held

    async def _execute(self, held: HeldCall) -> None:
        assert self.executor is not None  # noqa: S101 - wired by build_app
        assert held.execution_request_id is not None  # noqa: S101 - set by decide
        request = CallRequest(
            request_id=held.execution_request_id,
            protocol="approval",
            operation_name=held.operation,
            input_source=StoredInput(held.input_json.encode()),
            on_behalf_of=held.on_behalf_of,
            approved=ApprovedCall(
                agent_id=held.agent_id,
                record=ApprovalRecord(
                    approval_id=held.id,
                    status="approved",
                    approver=held.decided_by,
                    reason=held.decision_reason,
                    decided_at=datetime.fromtimestamp(held.decided_at or 0, UTC),
                ),
            ),
        )
        digest = hashlib.sha256(held.input_json.encode()).hexdigest()
        outcome: Outcome
        if digest != held.input_sha256:  # never run an input nobody approved
            outcome = Refused(
                ValidationFailed(
                    f"The stored input of {held.id} no longer matches the approved hash; "
                    "it was not executed.",
                    [],
                )
            )
        else:  # the pipeline's Record stage has scrubbed any error text already
            _, outcome = await self.executor.run(request)
        ending, error = final(outcome), error_of(outcome)
        if isinstance(ending, Answered):
            held.status, held.result = "executed", dict(ending.shown())
        elif error is not None:
            held.status = "failed"
            held.error = {"code": error.code, "status": error.status, "detail": error.detail}
        try:
            await self.store.move(
                held.id, "executing", held.status, result=held.result, error=held.error
            )
        except ApprovalsUnavailable:
            # The call ran and its audit event holds the outcome; the approver is told
            # what happened, and the stored approval stays "executing", naming that event.
            log.warning(
                "approval_outcome_unrecorded",
                approval_id=held.id,
                execution_request_id=request.request_id,
                status=held.status,
            )

    def resource(self, held: HeldCall, *, with_input: bool = True) -> dict[str, Any]:
        """The approval as JSON, for the agent's status URL and for approvers."""
        body: dict[str, Any] = {
            "id": held.id,
            "status": held.status,
            "status_url": f"/v1/approvals/{held.id}",
            "operation": held.operation,
            "agent": held.agent_id,
            "on_behalf_of": held.on_behalf_of,
            "created_at": iso(held.created_at),
            "expires_at": iso(held.expires_at),
            "request_id": held.request_id,
            "policy_ids": held.policy_ids,
            "reasons": held.reasons,
            "input_sha256": held.input_sha256,
            "decided_by": held.decided_by,
            "decided_at": iso(held.decided_at),
            "decision_reason": held.decision_reason,
            "execution_request_id": held.execution_request_id,
            "result": held.result,
            "error": held.error,
        }
        if with_input:
            body["input"] = json.loads(held.input_json)
        return body
