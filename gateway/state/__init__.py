"""State shared across calls: rates, budgets and expiring records (see store.py)."""

from gateway.state.memory import MemoryStateStore
from gateway.state.redis import RedisStateStore
from gateway.state.sqlite import SqliteStateStore
from gateway.state.store import (
    BudgetCharge,
    BudgetHold,
    BudgetWindow,
    Clock,
    Rate,
    RateDecision,
    StateStore,
)

__all__ = [
    "BudgetCharge",
    "BudgetHold",
    "BudgetWindow",
    "Clock",
    "MemoryStateStore",
    "Rate",
    "RateDecision",
    "RedisStateStore",
    "SqliteStateStore",
    "StateStore",
]
