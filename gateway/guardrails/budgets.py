"""Budgets and stateful limits: windowed totals a stateless policy cannot express.

Each configured budget applies to some agents and operations and measures a call as
one (``calls``), as its cost in units (``units``, from ``guardrails.costs``) or as the
value of an input field (``input.quantity``: a running total). Totals live in the
:class:`~gateway.state.StateStore` as integer millionths in fixed calendar windows
(``budget_windows.py``), charged atomically before the backend call and refunded if the
call never reached the backend successfully. A negative measured value counts as zero
(a budget is never credited by a call).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from adapters.base import Operation
from gateway.config.guardrails import BudgetConfig
from gateway.guardrails.budget_windows import BudgetCalendar, iso_utc
from gateway.identity import operation_glob
from gateway.state.store import BudgetWindow, Clock, to_micro

# the largest charge kept (10^9 units, the largest limit): totals stay exact in Redis's
# Lua numbers (doubles, exact integers below 2^53 millionths)
MAX_CHARGE = Decimal(10**9)


@dataclass(frozen=True, slots=True)
class Budget:
    config: BudgetConfig
    agents: tuple[re.Pattern[str], ...]
    operations: tuple[re.Pattern[str], ...]
    calendar: BudgetCalendar

    @classmethod
    def from_config(cls, config: BudgetConfig) -> Budget:
        return cls(
            config,
            tuple(operation_glob(g) for g in config.agents),
            tuple(operation_glob(g) for g in config.operations),
            BudgetCalendar.from_config(config),
        )

    @property
    def limit_micro(self) -> int:
        return to_micro(self.config.limit, up=False)

    @property
    def id(self) -> str:
        return self.config.id

    @property
    def shadow(self) -> bool:
        return self.config.mode == "shadow"

    def applies(self, agent_id: str, operation: str) -> bool:
        return any(p.fullmatch(agent_id) for p in self.agents) and any(
            p.fullmatch(operation) for p in self.operations
        )

    def key(self, agent_id: str, on_behalf_of: str | None) -> str:
        if self.config.per == "on_behalf_of":
            return f"budget:{self.id}:user:{on_behalf_of or '-'}"
        return f"budget:{self.id}:agent:{agent_id}"

    def describe(self) -> str:
        what = {"calls": "calls", "units": "cost units"}.get(
            self.config.measure, f"total {self.config.measure.removeprefix('input.')}"
        )
        per = "per end user" if self.config.per == "on_behalf_of" else "per agent"
        config = self.config
        return (
            f"at most {config.limit:f} {what} {per} per {_window(config.window)} window "
            f"(days from {config.resets} {config.timezone})"
        )


def _window(seconds: float) -> str:
    """``24h``, ``7d``, ``15m``: days only from two days on, as people say them."""
    units = (("h", 3600), ("m", 60)) if seconds < 2 * 86400 else (("d", 86400), ("h", 3600))
    for unit, size in units:
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


@dataclass(frozen=True, slots=True)
class Charge:
    """What one call would add to one budget, and the window it falls in."""

    budget: Budget
    key: str
    amount: Decimal
    window: BudgetWindow

    @property
    def micro(self) -> int:
        return to_micro(self.amount)


class BudgetBook:
    """The configured budgets and the cost table; works out each call's charges."""

    def __init__(
        self, budgets: Sequence[BudgetConfig], costs: Mapping[str, Decimal], clock: Clock
    ) -> None:
        self.budgets = tuple(Budget.from_config(b) for b in budgets)
        self._costs = tuple((operation_glob(g), units) for g, units in costs.items())
        self._clock = clock
        # Every call asks which budgets apply, what the operation costs and which window
        # is current; the answers change only with the configuration (a reload builds a
        # new book) or when a window ends, so they are worked out once, not per call.
        # The keys are configured agents and registered operations: bounded.
        self._applying: dict[tuple[str, str], tuple[Budget, ...]] = {}
        self._cost: dict[str, Decimal] = {}
        self._windows: dict[int, tuple[float, float, BudgetWindow]] = {}

    def seconds_left(self, window: BudgetWindow) -> float:
        """Seconds until ``window`` ends and its budget starts afresh."""
        return max(window.ends_at - self._clock(), 0.0)

    def cost(self, operation: str) -> Decimal:
        units = self._cost.get(operation)
        if units is None:
            units = next((u for p, u in self._costs if p.fullmatch(operation)), Decimal(0))
            self._cost[operation] = units
        return units

    def charges(
        self, agent_id: str, operation: str, on_behalf_of: str | None, payload: BaseModel
    ) -> list[Charge]:
        applying = self._applying.get((agent_id, operation))
        if applying is None:
            applying = tuple(b for b in self.budgets if b.applies(agent_id, operation))
            self._applying[agent_id, operation] = applying
        if not applying:
            return []
        found = []
        now = self._clock()
        for budget in applying:
            amount = min(max(self._amount(budget, operation, payload), Decimal(0)), MAX_CHARGE)
            key = budget.key(agent_id, on_behalf_of)
            found.append(Charge(budget, key, amount, self._window(budget, now)))
        return found

    def _window(self, budget: Budget, now: float) -> BudgetWindow:
        """The budget's window at ``now``: windows tile time, so the last one found
        stands for every moment from its start to its end."""
        cached = self._windows.get(id(budget))
        if cached is not None and cached[0] <= now < cached[1]:
            return cached[2]
        start, end = budget.calendar.span_at(now)
        window = BudgetWindow(iso_utc(start), end)
        self._windows[id(budget)] = (start, end, window)
        return window

    def _amount(self, budget: Budget, operation: str, payload: BaseModel) -> Decimal:
        measure = budget.config.measure
        if measure == "calls":
            return Decimal(1)
        if measure == "units":
            return self.cost(operation)
        value: Any = payload
        for part in measure.split(".")[1:]:
            value = getattr(value, part, None)
        return Decimal(value) if isinstance(value, int | float | Decimal) else Decimal(0)

    def check(self, operations: Mapping[str, Operation]) -> list[str]:
        """Config problems: budgets matching no operation, fields the inputs do not have."""
        problems = []
        for index, budget in enumerate(self.budgets):
            matched = [
                op
                for name, op in operations.items()
                if any(p.fullmatch(name) for p in budget.operations)
            ]
            where = f"guardrails.budgets[{index}] ({budget.id})"
            if not matched:
                problems.append(f"{where}: operations match no operation")
            measure = budget.config.measure
            if measure.startswith("input."):
                field = measure.split(".")[1]
                for op in matched:
                    if field not in op.input_model.model_fields:
                        problems.append(f"{where}: {op.name} has no input field {field!r}")
        return problems
