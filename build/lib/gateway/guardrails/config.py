"""The ``guardrails:`` section of gateway.yaml: policies, costs, budgets, approvals, redaction.

Budgets read like the limits they enforce::

    budgets:
      - id: replenishment-quantity-24h
        agents: [replenishment-bot]
        operations: [warehouse.goods_movements.create]
        measure: input.quantity        # or: calls | units
        limit: 500
        window: 24h
        per: agent                     # or: on_behalf_of
        on_exceed: deny                # or: approval_required
        mode: enforce                  # or: shadow (log only)
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from gateway.config import EnvStr

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)?\s*$")
_UNIT_S = {"s": 1, "m": 60, "h": 3600, "d": 86400, None: 1}


def _duration(value: Any) -> Any:
    """``90``, ``"90s"``, ``"15m"``, ``"24h"``, ``"7d"`` as seconds."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if not match:
            raise ValueError(f"expected a duration like 90s, 15m, 24h or 7d, got {value!r}")
        return float(match.group(1)) * _UNIT_S[match.group(2)]
    return value


Duration = Annotated[float, BeforeValidator(_duration), Field(gt=0)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BudgetConfig(_Section):
    """A windowed total per agent or per end user, checked and reserved atomically."""

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    description: str = ""
    agents: list[str] = Field(default=["*"], min_length=1, description="agent id globs")
    operations: list[str] = Field(default=["*"], min_length=1, description="operation globs")
    measure: str = Field(
        default="calls",
        pattern=r"^(calls|units|input(\.[A-Za-z_][A-Za-z0-9_]*)+)$",
        description="calls, units (from costs) or input.<field> (a running total)",
    )
    limit: Decimal = Field(gt=0)
    window: Duration = 86400.0
    per: Literal["agent", "on_behalf_of"] = "agent"
    on_exceed: Literal["deny", "approval_required"] = "deny"
    mode: Literal["enforce", "shadow"] = "enforce"


class ApprovalsConfig(_Section):
    path: EnvStr | None = Field(
        default=None, description="SQLite file of held calls; default: beside the audit trail"
    )
    expire_after: Duration = 86400.0


class RedactionConfig(_Section):
    mode: Literal["mask", "drop"] = "mask"


class GuardrailsConfig(_Section):
    policies: list[EnvStr] = Field(
        default=[],
        description="Cedar policy files; 'builtin:<name>' names one shipped with lastmile. "
        "None: the agents' allow-lists alone decide.",
    )
    costs: dict[str, Annotated[Decimal, Field(ge=0)]] = Field(
        default={}, description="units per call, by operation glob; the first match counts"
    )
    budgets: list[BudgetConfig] = []
    approvals: ApprovalsConfig = ApprovalsConfig()
    redaction: RedactionConfig = RedactionConfig()
