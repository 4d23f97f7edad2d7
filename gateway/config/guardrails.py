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

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import Field

from gateway.config.primitives import Duration, EnvStr, Section


class BudgetConfig(Section):
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


class ApprovalsConfig(Section):
    store: Literal["sqlite", "postgres"] = "sqlite"
    path: EnvStr | None = Field(
        default=None, description="SQLite file of held calls; default: beside the audit trail"
    )
    expire_after: Duration = 86400.0


class HaltsConfig(Section):
    """Where halts live and how fresh a process's copy must be.

    ``store: state`` keeps them in the state store (the embedded default). ``store:
    postgres`` makes PostgreSQL the source of truth, pushed to every process; a process
    whose copy is older than ``fresh_within`` refuses calls (``halt_state_unknown``), and
    a halt is acknowledged once every live process confirmed it, or after
    ``confirm_within`` with the processes that did not.
    """

    store: Literal["state", "postgres"] = "state"
    fresh_within: Duration = 3.0
    poll_every: Duration = 1.0
    confirm_within: Duration = 5.0


class RedactionConfig(Section):
    mode: Literal["mask", "drop"] = "mask"


class GuardrailsConfig(Section):
    policies: list[EnvStr] = Field(
        default=[],
        description="Cedar policy files; 'builtin:<name>' names one shipped with lastmile. "
        "None: the agents' allow-lists alone decide.",
    )
    costs: dict[str, Annotated[Decimal, Field(ge=0)]] = Field(
        default={}, description="units per call, by operation glob; the first match counts"
    )
    budgets: list[BudgetConfig] = Field(default_factory=list)
    approvals: ApprovalsConfig = ApprovalsConfig()
    halts: HaltsConfig = HaltsConfig()
    redaction: RedactionConfig = RedactionConfig()
