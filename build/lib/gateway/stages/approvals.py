"""Hold: a call that needs a person's approval is stored and answered with 202.

The agent gets the approval id and a status URL to poll; the held call runs later, once,
with its stored input, when an approver approves it (see ``gateway.guardrails.approvals``).
"""

from __future__ import annotations

from gateway.guardrails.approvals import ApprovalDesk, iso
from gateway.pipeline import Invocation, Proceed
from schemas.audit import ApprovalRecord, Decision
from schemas.errors import ApprovalRequired


class Hold:
    def __init__(self, desk: ApprovalDesk) -> None:
        self._desk = desk

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        if inv.decision is not Decision.APPROVAL_REQUIRED or inv.dry_run:
            await proceed(inv)
            return
        held = await self._desk.hold(inv)
        inv.approval = ApprovalRecord(approval_id=held.id, status="pending")
        url = f"/v1/approvals/{held.id}"
        raise ApprovalRequired(
            f"This call is held until a person approves it ({' '.join(inv.reasons)}). "
            f"It is stored as {held.id}; poll GET {url} with your key for the decision "
            "and the result. Do not send the call again: it would be held a second time.",
            extras={
                "approval_id": held.id,
                "status_url": url,
                "expires_at": iso(held.expires_at),
                "policy_ids": inv.policy_ids,
                "reasons": inv.reasons,
            },
        )
