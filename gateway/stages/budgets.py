"""Budgets and stateful limits, reserved atomically before the backend call.

A reservation is released unless the backend answered (``Answered``, or ``Failed`` with
an answer that broke the contract: the write may have happened); a held call or a dry
run only looks at the totals and spends nothing. Shadow budgets count (without a limit)
and record what they would have decided. A call a person approved is charged without a
limit: the person decided to go beyond it.
"""

from __future__ import annotations

from decimal import Decimal

from gateway.guardrails.budgets import UNLIMITED, BudgetBook, Charge
from gateway.outcomes import Answered, Failed
from gateway.pipeline import Call, Path, Proceed, StageOutcome
from gateway.stages.policy import note_shadow
from gateway.state import Reservation, StateStore
from schemas.audit import Decision
from schemas.common import Effect
from schemas.errors import BudgetExceeded, StateUnavailable, retry_after_seconds


class EnforceBudgets:
    """``reads_fail_open``: a read goes on unmetered when the state store is unreachable
    (writes always fail closed), the same rule the rate limits follow."""

    def __init__(
        self, book: BudgetBook, state: StateStore, *, reads_fail_open: bool = False
    ) -> None:
        self._book = book
        self._state = state
        self._reads_fail_open = reads_fail_open

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        assert call.agent is not None, "Identify runs first"  # noqa: S101
        assert call.operation is not None, "Resolve runs first"  # noqa: S101
        assert call.input is not None, "ValidateInput runs first"  # noqa: S101
        charges = self._book.charges(
            call.agent.id, call.operation.name, call.on_behalf_of, call.input
        )
        if not charges or call.decision is Decision.DENY:
            return await proceed(call)
        force = call.request.path is Path.APPROVED
        spend = not (call.dry_run or call.decision is Decision.APPROVAL_REQUIRED)
        taken: list[Reservation] = []
        try:
            for charge in charges:
                used, reservation, retry_s = await self._apply(charge, spend, force)
                if reservation is not None:
                    taken.append(reservation)
                limit = charge.budget.config.limit
                exceeded = used + charge.amount > limit
                call.budgets.append(
                    {
                        "budget": charge.budget.id,
                        "mode": charge.budget.config.mode,
                        "used": f"{used:f}",
                        "amount": f"{charge.amount:f}",
                        "limit": f"{limit:f}",
                        "exceeded": exceeded,
                    }
                )
                if exceeded:
                    self._exceeded(call, charge, used, retry_s, force)
        except StateUnavailable:
            await self._release(taken)
            if not (self._reads_fail_open and call.operation.effect is Effect.READ):
                raise
            call.reasons.append("budgets not checked: state store unreachable (reads fail open)")
            return await proceed(call)
        except BaseException:
            await self._release(taken)
            raise
        if call.decision is Decision.APPROVAL_REQUIRED and taken:
            await self._release(taken)  # held: a person decides, nothing is spent now
            taken = []
        try:
            outcome = await proceed(call)
        except BaseException:
            await self._release(taken)
            raise
        if not _spent(outcome):
            await self._release(taken)
        return outcome

    async def _apply(
        self, charge: Charge, spend: bool, force: bool
    ) -> tuple[Decimal, Reservation | None, float]:
        """(total used before this call, the reservation made, seconds until it fits)."""
        window = charge.budget.config.window
        if not spend:
            return await self._state.usage(charge.key, window), None, 0.0
        unlimited = charge.budget.shadow or force
        limit = UNLIMITED if unlimited else charge.budget.config.limit
        reservation, usage = await self._state.reserve(charge.key, charge.amount, limit, window)
        if reservation is None:
            return usage.used, None, usage.retry_after_s
        return usage.used - charge.amount, reservation, 0.0

    def _exceeded(
        self, call: Call, charge: Charge, used: Decimal, retry_s: float, force: bool
    ) -> None:
        budget = charge.budget
        reason = (
            f"Budget {budget.id} ({budget.describe()}) would be exceeded: {used:f} used, "
            f"this call adds {charge.amount:f}."
        )
        on_exceed = budget.config.on_exceed
        decision = Decision.DENY if on_exceed == "deny" else Decision.APPROVAL_REQUIRED
        if budget.shadow:
            note_shadow(call, decision, [f"budget:{budget.id}"], [reason])
            return
        call.policy_ids.append(f"budget:{budget.id}")
        if force:
            call.reasons.append(f"approved beyond budget: {reason}")
            return
        call.reasons.append(reason)
        if decision is Decision.APPROVAL_REQUIRED:
            call.decision = Decision.APPROVAL_REQUIRED
            return
        call.decision = Decision.DENY
        if not call.dry_run:
            retry_after = retry_after_seconds(retry_s)
            raise BudgetExceeded(
                f"{reason} Try again in {retry_after} s at the earliest, or ask the agent's "
                "owner to raise the budget.",
                extras={"budget": budget.id, "retry_after_s": retry_after},
            )

    async def _release(self, taken: list[Reservation]) -> None:
        for reservation in taken:
            await self._state.release(reservation)


def _spent(outcome: StageOutcome) -> bool:
    """Whether the backend took the call: it answered, even with data that broke the
    contract. A write whose outcome is unknown (timeout) is given back, as before."""
    return isinstance(outcome, Answered) or (isinstance(outcome, Failed) and outcome.answered)
