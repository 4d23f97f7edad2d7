"""Builds the state store the ``state:`` section of the config names, and opens it."""

from __future__ import annotations

from pathlib import Path

from gateway.config.state import StateConfig
from gateway.state.memory import MemoryStateStore
from gateway.state.redis import RedisStateStore
from gateway.state.sqlite import SqliteStateStore
from gateway.state.store import Clock, StateStore


def build_state_store(config: StateConfig, clock: Clock) -> StateStore:
    if config.store == "sqlite":
        return SqliteStateStore(Path(config.path), clock)
    if config.store == "redis":
        return RedisStateStore(config.url, clock, config.prefix)
    return MemoryStateStore(clock)


async def open_state_store(store: StateStore) -> None:
    """Connect a store that needs it (the protocol's stores are usable once open)."""
    if isinstance(store, SqliteStateStore | RedisStateStore):
        await store.open()
