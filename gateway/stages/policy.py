"""Decide: the Cedar policies' verdict on the validated call.

Deny ends the call with ``policy_denied`` naming the policies and their reasons;
``approval_required`` marks the call for the hold stage; shadow policies only leave a
``shadow_decision`` in the audit trail. A dry run records the verdict and goes on, so
its report shows every guardrail's answer.
"""

from __future__ import annotations

from gateway.guardrails.policy import Verdict
from gateway.pipeline import Call, Path, Proceed, StageOutcome
from schemas.audit import Decision
from schemas.errors import PolicyDenied

SEVERITY = {Decision.ALLOW: 0, Decision.APPROVAL_REQUIRED: 1, Decision.DENY: 2}


def note_shadow(call: Call, decision: Decision, ids: list[str], reasons: list[str]) -> None:
    """Record what a log-only policy or limit would have decided (for the audit only)."""
    current = SEVERITY.get(call.shadow_decision, 0) if call.shadow_decision else 0
    if SEVERITY[decision] > current:
        call.shadow_decision = decision
    words = "would deny" if decision is Decision.DENY else "would need approval"
    call.shadow_policy_ids += [f"shadow:{i}" for i in ids]
    call.shadow_reasons += [f"shadow mode, {words}: {r}" for r in reasons]


class Decide:
    """Decides with the policies of the configuration pinned on the call (an operator
    may reload them). A call a person approved is not decided again (``skip_on``): the
    person decided."""

    skip_on = frozenset({Path.APPROVED})

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        engine = call.in_force.policy
        if engine is None:
            return await proceed(call)
        verdict, shadow = engine.decide(call)
        call.policy_ids += verdict.policy_ids
        call.reasons += verdict.reasons
        if shadow is not None and SEVERITY[shadow.decision] > SEVERITY[verdict.decision]:
            new = [i for i in shadow.policy_ids if i not in verdict.policy_ids]
            note_shadow(call, shadow.decision, new, _reasons_of(shadow, new))
        if verdict.decision is Decision.DENY:
            call.decision = Decision.DENY
            if not call.dry_run:
                raise PolicyDenied(
                    "Denied by policy: " + " ".join(verdict.reasons) + " Do not retry this "
                    "call unchanged; ask the agent's owner if the policy seems wrong.",
                    extras={"policy_ids": verdict.policy_ids, "reasons": verdict.reasons},
                )
        elif verdict.decision is Decision.APPROVAL_REQUIRED:
            call.decision = Decision.APPROVAL_REQUIRED
        return await proceed(call)


def _reasons_of(verdict: Verdict, ids: list[str]) -> list[str]:
    if not verdict.policy_ids:
        return verdict.reasons
    return [r for i, r in zip(verdict.policy_ids, verdict.reasons, strict=True) if i in ids]
