"""Budgets and stateful limits, charged atomically before the backend call.

Each charge goes to the budget's current fixed window; a refusal says when that window
ends (``retry_after_s``, ``resets_at``), and so does every budget line of a dry run.
A charge is refunded unless the backend answered (``Answered``, or ``Failed`` with
an answer that broke the contract: the write may have happened); a held call or a dry
run only looks at the totals and spends nothing. Shadow budgets count (without a limit)
and record what they would have decided. A call a person approved is charged without a
limit: the person decided to go beyond it.
"""

from __future__ import annotations

from gateway.guardrails.budget_windows import iso_utc
from gateway.guardrails.budgets import BudgetBook, Charge
from gateway.outcomes import Answered, Failed
from gateway.pipeline import Call, Path, Proceed, StageOutcome
from gateway.stages.policy import note_shadow
from gateway.state import BudgetHold, StateStore
from gateway.state.store import from_micro
from schemas.audit import Decision
from schemas.errors import BudgetExceeded, retry_after_seconds


class EnforceBudgets:
    """Budgets are exact: when the state store is unreachable a call a budget counts is
    refused (503 ``state_unavailable``), read or write; ``state.reads_fail_open`` lets
    reads past the rate limits only. The budgets are those of the configuration pinned
    on the call (a reload may change them)."""

    def __init__(self, state: StateStore) -> None:
        self._state = state

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        assert call.agent is not None, "Identify runs first"  # noqa: S101
        assert call.operation is not None, "Resolve runs first"  # noqa: S101
        assert call.input is not None, "ValidateInput runs first"  # noqa: S101
        book = call.in_force.budgets
        charges = book.charges(call.agent.id, call.operation.name, call.on_behalf_of, call.input)
        if not charges or call.decision is Decision.DENY:
            return await proceed(call)
        force = call.request.path is Path.APPROVED
        spend = not (call.dry_run or call.decision is Decision.APPROVAL_REQUIRED)
        taken: list[BudgetHold] = []
        try:
            for charge in charges:
                used, hold = await self._apply(charge, spend, force)
                if hold is not None:
                    taken.append(hold)
                exceeded = used + charge.micro > charge.budget.limit_micro
                call.budgets.append(
                    {
                        "budget": charge.budget.id,
                        "mode": charge.budget.config.mode,
                        "used": f"{from_micro(used):f}",
                        "amount": f"{charge.amount:f}",
                        "limit": f"{charge.budget.config.limit:f}",
                        "exceeded": exceeded,
                        "resets_at": iso_utc(charge.window.ends_at),
                    }
                )
                if exceeded:
                    self._exceeded(call, book, charge, used, force)
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
    ) -> tuple[int, BudgetHold | None]:
        """(micro-units used in the window before this call, the charge held)."""
        if not spend:
            return await self._state.spent(charge.key, charge.window), None
        unlimited = charge.budget.shadow or force
        limit = None if unlimited else charge.budget.limit_micro
        result = await self._state.charge(charge.key, charge.window, charge.micro, limit)
        return result.used, result.hold

    def _exceeded(
        self, call: Call, book: BudgetBook, charge: Charge, used: int, force: bool
    ) -> None:
        budget = charge.budget
        resets_at = iso_utc(charge.window.ends_at)
        reason = (
            f"Budget {budget.id} ({budget.describe()}) would be exceeded: "
            f"{from_micro(used):f} used, this call adds {charge.amount:f}."
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
            retry_after = retry_after_seconds(book.seconds_left(charge.window))
            raise BudgetExceeded(
                f"{reason} The budget resets at {resets_at} (in {retry_after} s); try again "
                "then, or ask the agent's owner to raise the budget.",
                extras={"budget": budget.id, "retry_after_s": retry_after, "resets_at": resets_at},
            )

    async def _release(self, taken: list[BudgetHold]) -> None:
        for hold in taken:
            await self._state.refund(hold)


def _spent(outcome: StageOutcome) -> bool:
    """Whether the backend took the call: it answered, even with data that broke the
    contract. A write whose outcome is unknown (timeout) is given back, as before."""
    return isinstance(outcome, Answered) or (isinstance(outcome, Failed) and outcome.answered)
