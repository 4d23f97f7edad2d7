"""State shared across calls: windowed totals and expiring records (see store.py)."""

from gateway.state.memory import MemoryStateStore
from gateway.state.store import Clock, Reservation, StateStore, WindowUsage

__all__ = ["Clock", "MemoryStateStore", "Reservation", "StateStore", "WindowUsage"]
