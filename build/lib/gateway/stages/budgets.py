"""Budgets and stateful limits, reserved atomically before the backend call.

A reservation is released if the call never got a successful answer from the backend;
a held call or a dry run only looks at the totals and spends nothing. Shadow budgets
count (without a limit) and record what they would have decided.
"""

from __future__ import annotations

import math
from decimal import Decimal

from gateway.guardrails.budgets import UNLIMITED, BudgetBook, Charge
from gateway.pipeline import Invocation, Proceed
from gateway.stages.policy import note_shadow
from gateway.state import Reservation, StateStore
from schemas.audit import Decision
from schemas.common import Effect
from schemas.errors import BudgetExceeded, StateUnavailable


class EnforceBudgets:
    """``force``: charge without a limit (for calls a person approved beyond a budget).
    ``reads_fail_open``: a read goes on unmetered when the state store is unreachable
    (writes always fail closed), the same rule the rate limits follow."""

    def __init__(
        self,
        book: BudgetBook,
        state: StateStore,
        *,
        force: bool = False,
        reads_fail_open: bool = False,
    ) -> None:
        self._book = book
        self._state = state
        self._force = force
        self._reads_fail_open = reads_fail_open

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        assert inv.agent is not None, "Identify runs first"  # noqa: S101
        assert inv.operation is not None, "Resolve runs first"  # noqa: S101
        assert inv.input is not None, "ValidateInput runs first"  # noqa: S101
        charges = self._book.charges(inv.agent.id, inv.operation.name, inv.on_behalf_of, inv.input)
        if not charges or inv.decision is Decision.DENY:
            await proceed(inv)
            return
        spend = not (inv.dry_run or inv.decision is Decision.APPROVAL_REQUIRED)
        taken: list[Reservation] = []
        report: list[dict[str, object]] = []
        try:
            for charge in charges:
                used, reservation, retry_s = await self._apply(charge, spend)
                if reservation is not None:
                    taken.append(reservation)
                limit = charge.budget.config.limit
                exceeded = used + charge.amount > limit
                report.append(
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
                    self._exceeded(inv, charge, used, retry_s)
        except StateUnavailable:
            await self._release(taken)
            if not (self._reads_fail_open and inv.operation.effect is Effect.READ):
                raise
            inv.reasons.append("budgets not checked: state store unreachable (reads fail open)")
            await proceed(inv)
            return
        except BaseException:
            await self._release(taken)
            raise
        if inv.dry_run:
            inv.preview = {**(inv.preview or {}), "budgets": report}
        if inv.decision is Decision.APPROVAL_REQUIRED and taken:
            await self._release(taken)  # held: a person decides, nothing is spent now
            taken = []
        try:
            await proceed(inv)
        except BaseException:
            if inv.raw_output is None:  # the backend never answered: nothing was spent
                await self._release(taken)
            raise

    async def _apply(
        self, charge: Charge, spend: bool
    ) -> tuple[Decimal, Reservation | None, float]:
        """(total used before this call, the reservation made, seconds until it fits)."""
        window = charge.budget.config.window
        if not spend:
            return await self._state.usage(charge.key, window), None, 0.0
        unlimited = charge.budget.shadow or self._force
        limit = UNLIMITED if unlimited else charge.budget.config.limit
        reservation, usage = await self._state.reserve(charge.key, charge.amount, limit, window)
        if reservation is None:
            return usage.used, None, usage.retry_after_s
        return usage.used - charge.amount, reservation, 0.0

    def _exceeded(self, inv: Invocation, charge: Charge, used: Decimal, retry_s: float) -> None:
        budget = charge.budget
        reason = (
            f"Budget {budget.id} ({budget.describe()}) would be exceeded: {used:f} used, "
            f"this call adds {charge.amount:f}."
        )
        on_exceed = budget.config.on_exceed
        decision = Decision.DENY if on_exceed == "deny" else Decision.APPROVAL_REQUIRED
        if budget.shadow:
            note_shadow(inv, decision, [f"budget:{budget.id}"], [reason])
            return
        inv.policy_ids.append(f"budget:{budget.id}")
        if self._force:
            inv.reasons.append(f"approved beyond budget: {reason}")
            return
        inv.reasons.append(reason)
        if decision is Decision.APPROVAL_REQUIRED:
            inv.decision = Decision.APPROVAL_REQUIRED
            return
        inv.decision = Decision.DENY
        if not inv.dry_run:
            retry_after = max(1, math.ceil(retry_s))
            raise BudgetExceeded(
                f"{reason} Try again in {retry_after} s at the earliest, or ask the agent's "
                "owner to raise the budget.",
                extras={"budget": budget.id, "retry_after_s": retry_after},
            )

    async def _release(self, taken: list[Reservation]) -> None:
        for reservation in taken:
            await self._state.release(reservation)
