"""Handshake-era MCP sessions in the shared state store: bounded per agent, expiring when
idle, invisible to other agents, and initialised for every process that reads them."""

from __future__ import annotations

from gateway.api.mcp.sessions import SharedMcpSessions
from gateway.state.memory import MemoryStateStore


async def test_shared_sessions_expire_when_idle_and_are_capped_per_agent() -> None:
    now = [1000.0]
    state = MemoryStateStore(clock=lambda: now[0])
    one_process = SharedMcpSessions(state, idle_s=60, max_per_agent=2)
    other_process = SharedMcpSessions(state, idle_s=60, max_per_agent=2)

    first = await one_process.open("bot", "2025-11-25")
    seen = await other_process.get(first.id, "bot")
    assert seen is not None
    assert seen.protocol_version == "2025-11-25"
    assert seen.initialized is False
    await other_process.mark_initialized(seen)
    again = await one_process.get(first.id, "bot")
    assert again is not None
    assert again.initialized is True
    assert await one_process.get(first.id, "other-bot") is None

    now[0] += 59
    assert await other_process.get(first.id, "bot") is not None  # used: lives on
    now[0] += 61
    assert await other_process.get(first.id, "bot") is None  # idle for 61 s

    mine = [await one_process.open("greedy-bot", "2025-11-25") for _ in range(4)]
    alive = [await other_process.get(s.id, "greedy-bot") is not None for s in mine]
    assert alive == [False, False, True, True]
    assert await other_process.close(mine[3].id, "greedy-bot") is True
    assert await one_process.get(mine[3].id, "greedy-bot") is None
