"""The ``guardrails:`` section of gateway.yaml: policies, costs, budgets, approvals, redaction.

Budgets read like the limits they enforce::

    budgets:
      - id: replenishment-quantity-24h
        agents: [replenishment-bot]
        operations: [warehouse.goods_movements.create]
        measure: input.quantity        # or: calls | units
        limit: 500
        window: 24h                    # fixed windows: a divisor of 24h, or whole days
        resets: "00:00"                # the local time a day's first window starts
        timezone: Europe/Berlin        # an IANA zone; default UTC
        per: agent                     # or: on_behalf_of
        on_exceed: deny                # or: approval_required
        mode: enforce                  # or: shadow (log only)
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, Field, field_validator, model_validator

from gateway.config.primitives import Duration, EnvStr, Secret, Section, http_url

_DAY_S = 86400


class BudgetConfig(Section):
    """A total per agent or per end user in fixed windows, checked and charged atomically.

    Windows are aligned to the calendar: a day starts at ``resets`` (local time in
    ``timezone``); a window shorter than a day divides the day (``1h``, ``15m``, ``6h``);
    a window of whole days (``24h``, ``7d``) starts on a day counted from Monday
    1970-01-05, so ``7d`` runs Monday to Monday. Totals are exact to a millionth.
    """

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")
    description: str = ""
    agents: list[str] = Field(default=["*"], min_length=1, description="agent id globs")
    operations: list[str] = Field(default=["*"], min_length=1, description="operation globs")
    measure: str = Field(
        default="calls",
        pattern=r"^(calls|units|input(\.[A-Za-z_][A-Za-z0-9_]*)+)$",
        description="calls, units (from costs) or input.<field> (a running total)",
    )
    limit: Decimal = Field(gt=0, le=Decimal(10**9), decimal_places=6)
    window: Duration = 86400.0
    resets: str = Field(
        default="00:00",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="HH:MM, the local time at which a day's first window starts",
    )
    timezone: str = Field(default="UTC", description="IANA time zone of resets")
    per: Literal["agent", "on_behalf_of"] = "agent"
    on_exceed: Literal["deny", "approval_required"] = "deny"
    mode: Literal["enforce", "shadow"] = "enforce"

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"{value!r} is not an IANA time zone (e.g. Europe/Berlin)") from exc
        return value

    @model_validator(mode="after")
    def _aligned_window(self) -> BudgetConfig:
        window = self.window
        divides_a_day = window < _DAY_S and window == int(window) and _DAY_S % int(window) == 0
        if not (divides_a_day or (window >= _DAY_S and window % _DAY_S == 0)):
            raise ValueError(
                f"window {window:g} s neither divides a day (1h, 15m, 6h ...) nor is a "
                "whole number of days (24h, 7d): fixed windows must tile the calendar"
            )
        return self


class ApprovalWebhookConfig(Section):
    """Where to tell people a call waits for a decision: a JSON POST signed with
    HMAC-SHA256 over ``<timestamp>.<body>`` (see docs/console.md)."""

    url: Annotated[EnvStr, AfterValidator(http_url)]
    secret: Secret


class ApprovalsConfig(Section):
    store: Literal["sqlite", "postgres"] = "sqlite"
    path: EnvStr | None = Field(
        default=None, description="SQLite file of held calls; default: beside the audit trail"
    )
    expire_after: Duration = 86400.0
    webhook: ApprovalWebhookConfig | None = Field(
        default=None, description="Notified (signed POST) each time a call is held"
    )


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
