"""Preview: the end of a dry run. Reports the decision every guardrail reached and
exactly what would be sent to the backend, without sending it or spending budget.

Shadow (log-only) verdicts are not in the report: they are for operators trialling a
rule, and stay in the audit trail.
"""

from __future__ import annotations

from adapters.base import Previewing
from gateway.outcomes import Previewed
from gateway.pipeline import Call, Proceed, StageOutcome
from gateway.registry import Registry
from schemas.audit import Decision


class Preview:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def __call__(self, call: Call, proceed: Proceed) -> StageOutcome:
        if not call.dry_run:
            return await proceed(call)
        op = call.operation
        assert op is not None, "Resolve runs first"  # noqa: S101
        assert call.input is not None, "ValidateInput runs first"  # noqa: S101
        would = call.decision
        report: dict[str, object] = {
            "decision": would.value,
            "policy_ids": list(call.policy_ids),
            "reasons": list(call.reasons),
            "budgets": list(call.budgets),
            "backend": op.backend,
            "backend_request": None,
            "before": None,
            "after": None,
        }
        adapter = self._registry.adapter_for(op)
        if would is not Decision.DENY:
            if isinstance(adapter, Previewing):
                preview = await adapter.preview(op, call.input)
                report["backend_request"] = preview.request
                call.before = dict(preview.before) if preview.before is not None else None
                call.after = dict(preview.after) if preview.after is not None else None
                report["before"], report["after"] = call.before, call.after
            else:
                report["note"] = f"the adapter for {op.backend!r} cannot render its requests"
        call.decision = Decision.DRY_RUN
        return Previewed(report)
