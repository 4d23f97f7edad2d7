"""Preview: the end of a dry run. Reports the decision every guardrail reached and
exactly what would be sent to the backend, without sending it or spending budget."""

from __future__ import annotations

from adapters.base import Previewing
from gateway.pipeline import Invocation, Proceed
from gateway.registry import Registry
from schemas.audit import Decision


class Preview:
    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def __call__(self, inv: Invocation, proceed: Proceed) -> None:
        if not inv.dry_run:
            await proceed(inv)
            return
        op = inv.operation
        assert op is not None, "Resolve runs first"  # noqa: S101
        assert inv.input is not None, "ValidateInput runs first"  # noqa: S101
        would = inv.decision
        report: dict[str, object] = {
            "decision": would.value,
            "policy_ids": inv.policy_ids,
            "reasons": inv.reasons,
            "shadow_decision": inv.shadow_decision.value if inv.shadow_decision else None,
            "budgets": (inv.preview or {}).get("budgets", []),
            "backend": op.backend,
            "backend_request": None,
            "before": None,
            "after": None,
        }
        adapter = self._registry.adapter_for(op)
        if would is not Decision.DENY:
            if isinstance(adapter, Previewing):
                preview = await adapter.preview(op, inv.input)
                report["backend_request"] = preview.request
                inv.before = dict(preview.before) if preview.before is not None else None
                inv.after = dict(preview.after) if preview.after is not None else None
                report["before"], report["after"] = inv.before, inv.after
            else:
                report["note"] = f"the adapter for {op.backend!r} cannot render its requests"
        inv.preview = report
        inv.decision = Decision.DRY_RUN
