"""Hold: a call that needs a person's approval is stored and answered with 202.

The agent gets the approval id and a status URL to poll; the held call runs later, once,
with its stored input, when an approver approves it (see ``gateway.guardrails.approvals``).
A call a person already approved never comes here (``skip_on``).
"""

from __future__ import annotations

from gateway.guardrails.approvals import ApprovalDesk, iso
from gateway.outcomes import Held
from gateway.pipeline import Call, Path, Proceed, StageOutcome
from schemas.audit import Decision


class Hold:
    skip_on = frozenset({Path.APPROVED})

    def __init__(self, desk: ApprovalDesk) -> None:
        self._desk = desk

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        if call.decision is not Decision.APPROVAL_REQUIRED or call.dry_run:
            return await proceed(call)
        held = await self._desk.hold(call)
        return Held(
            approval_id=held.id,
            expires_at=iso(held.expires_at),
            reasons=tuple(call.reasons),
            policy_ids=tuple(call.policy_ids),
        )
