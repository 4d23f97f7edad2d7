"""State shared across calls: windowed totals and expiring records (see store.py)."""

from gateway.state.memory import MemoryStateStore
from gateway.state.redis import RedisStateStore
from gateway.state.sqlite import SqliteStateStore
from gateway.state.store import Clock, Reservation, StateStore, WindowUsage

__all__ = [
    "Clock",
    "MemoryStateStore",
    "RedisStateStore",
    "Reservation",
    "SqliteStateStore",
    "StateStore",
    "WindowUsage",
]
