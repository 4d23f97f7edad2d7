"""What a held call would do, worked out once, when it is held, and stored with it: the
budgets it would spend (as the budget stage saw them: used, amount, limit), the exact
request the adapter would send to the legacy system, and the record's state before and
after where the adapter can read it.

Approvers then decide on what the call would do, and reading the inbox never touches a
backend: the state is the one at hold time (the page says so), not a live read per view.
Working it out uses the dry-run machinery (:class:`adapters.base.Previewing`), which
sends reads at most, never a write. A backend that cannot be read then does not stop
the hold: the preview says why it is missing.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from adapters.base import Previewing
from gateway.pipeline import Call
from gateway.registry import Registry
from schemas.errors import GatewayError

Previewer = Callable[[Call], Awaitable[dict[str, Any]]]


def registry_previewer(registry: Registry) -> Previewer:
    """A previewer rendering calls with the adapters of ``registry``."""

    async def preview(call: Call) -> dict[str, Any]:
        op, payload = call.operation, call.input
        assert op is not None, "Resolve runs first"  # noqa: S101
        assert payload is not None, "ValidateInput runs first"  # noqa: S101
        report: dict[str, Any] = {
            "budgets": [dict(line) for line in call.budgets],
            "backend": op.backend,
            "backend_request": None,
            "before": None,
            "after": None,
            "note": None,
        }
        adapter = registry.adapter_for(op)
        if not isinstance(adapter, Previewing):
            report["note"] = f"the adapter for {op.backend!r} cannot render its requests"
            return report
        try:
            rendered = await adapter.preview(op, payload)
        except GatewayError as exc:
            report["note"] = f"the backend could not be read when the call was held ({exc.code})"
            return report
        report["backend_request"] = dict(rendered.request) if rendered.request else None
        report["before"] = dict(rendered.before) if rendered.before is not None else None
        report["after"] = dict(rendered.after) if rendered.after is not None else None
        return report

    return preview
