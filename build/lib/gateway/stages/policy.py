"""Decide: the Cedar policies' verdict on the validated call.

Deny ends the call with ``policy_denied`` naming the policies and their reasons;
``approval_required`` marks the call for the hold stage; shadow policies only leave a
``shadow_decision`` in the audit trail. A dry run records the verdict and goes on, so
its report shows every guardrail's answer.
"""

from __future__ import annotations

from collections.abc import Callable

from gateway.guardrails.policy import PolicyEngine, Verdict
from gateway.pipeline import Invocation, Proceed
from schemas.audit import Decision
from schemas.errors import PolicyDenied

SEVERITY = {Decision.ALLOW: 0, Decision.APPROVAL_REQUIRED: 1, Decision.DENY: 2}


def note_shadow(inv: Invocation, decision: Decision, ids: list[str], reasons: list[str]) -> None:
    """Record what a log-only policy or limit would have decided."""
    current = SEVERITY.get(inv.shadow_decision, 0) if inv.shadow_decision else 0
    if SEVERITY[decision] > current:
        inv.shadow_decision = decision
    words = "would deny" if decision is Decision.DENY else "would need approval"
    inv.policy_ids += [f"shadow:{i}" for i in ids]
    inv.reasons += [f"shadow mode, {words}: {r}" for r in reasons]


class Decide:
    """``current`` returns the policies in force now (an operator may reload them)."""

    def __init__(self, current: Callable[[], PolicyEngine | None]) -> None:
        self._current = current

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        engine = self._current()
        if engine is None:
            await proceed(inv)
            return
        verdict, shadow = engine.decide(inv)
        inv.policy_ids += verdict.policy_ids
        inv.reasons += verdict.reasons
        if shadow is not None and SEVERITY[shadow.decision] > SEVERITY[verdict.decision]:
            new = [i for i in shadow.policy_ids if i not in verdict.policy_ids]
            note_shadow(inv, shadow.decision, new, _reasons_of(shadow, new))
        if verdict.decision is Decision.DENY:
            inv.decision = Decision.DENY
            if not inv.dry_run:
                raise PolicyDenied(
                    "Denied by policy: " + " ".join(verdict.reasons) + " Do not retry this "
                    "call unchanged; ask the agent's owner if the policy seems wrong.",
                    extras={"policy_ids": verdict.policy_ids, "reasons": verdict.reasons},
                )
        elif verdict.decision is Decision.APPROVAL_REQUIRED:
            inv.decision = Decision.APPROVAL_REQUIRED
        await proceed(inv)


def _reasons_of(verdict: Verdict, ids: list[str]) -> list[str]:
    if not verdict.policy_ids:
        return verdict.reasons
    return [r for i, r in zip(verdict.policy_ids, verdict.reasons, strict=True) if i in ids]
