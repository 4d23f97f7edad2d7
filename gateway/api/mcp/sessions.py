"""Handshake-era MCP sessions: which agent opened each, at which version, bounded.

Only clients of revisions before 2026-07-28 have sessions. Two stores keep them:

- :class:`McpSessions`, in this process's memory (with ``state.store: memory``, where
  the gateway is one process anyway);
- :class:`SharedMcpSessions`, in the shared state store (SQLite or Redis), so a session
  opened through one gateway process is served by any other behind the load balancer.

Both are bounded: sessions idle for longer than ``idle_s`` expire, and an agent past
``max_per_agent`` loses its own oldest session first, so one agent opening sessions in a
loop cannot push out the others'. In memory, when ``max_sessions`` are open the least
recently used one is dropped too; in the shared store the per-agent cap and the idle
expiry are the bound (two processes opening one agent's sessions at the same instant may
each keep one more until they expire). The clock is injected so tests move time.
"""

from __future__ import annotations

import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from gateway.state.store import StateStore


@dataclass(slots=True)
class McpSession:
    id: str
    agent_id: str
    protocol_version: str
    last_seen: float
    initialized: bool = False


class SessionStore(Protocol):
    async def open(self, agent_id: str, protocol_version: str) -> McpSession: ...

    async def get(self, session_id: str, agent_id: str) -> McpSession | None:
        """The live session with this id opened by this agent; another agent's is not found."""

    async def mark_initialized(self, session: McpSession) -> None: ...

    async def close(self, session_id: str, agent_id: str) -> bool: ...


class McpSessions:
    def __init__(
        self,
        max_sessions: int,
        idle_s: float,
        max_per_agent: int | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max = max_sessions
        self._max_per_agent = max_per_agent or max_sessions
        self._idle_s = idle_s
        self._clock = clock
        self._open: OrderedDict[str, McpSession] = OrderedDict()

    def __len__(self) -> int:
        return len(self._open)

    async def open(self, agent_id: str, protocol_version: str) -> McpSession:
        self._expire()
        own = [s.id for s in self._open.values() if s.agent_id == agent_id]
        for session_id in own[: max(len(own) - self._max_per_agent + 1, 0)]:
            del self._open[session_id]
        while len(self._open) >= self._max:
            self._open.popitem(last=False)
        session = McpSession(
            id=secrets.token_urlsafe(24),
            agent_id=agent_id,
            protocol_version=protocol_version,
            last_seen=self._clock(),
        )
        self._open[session.id] = session
        return session

    async def get(self, session_id: str, agent_id: str) -> McpSession | None:
        session = self._open.get(session_id)
        if session is None or session.agent_id != agent_id:
            return None
        now = self._clock()
        if now - session.last_seen > self._idle_s:
            del self._open[session_id]
            return None
        session.last_seen = now
        self._open.move_to_end(session_id)
        return session

    async def mark_initialized(self, session: McpSession) -> None:
        session.initialized = True

    async def close(self, session_id: str, agent_id: str) -> bool:
        if await self.get(session_id, agent_id) is None:
            return False
        del self._open[session_id]
        return True

    def _expire(self) -> None:
        cutoff = self._clock() - self._idle_s
        while self._open:
            oldest = next(iter(self._open.values()))
            if oldest.last_seen >= cutoff:
                break
            self._open.popitem(last=False)


class SharedMcpSessions:
    """Sessions as records in the shared state store, each living ``idle_s`` after its
    last use; a small record per agent lists its sessions, oldest first, for the cap."""

    def __init__(self, state: StateStore, idle_s: float, max_per_agent: int) -> None:
        self._state = state
        self._idle_s = idle_s
        self._max_per_agent = max_per_agent

    async def open(self, agent_id: str, protocol_version: str) -> McpSession:
        session = McpSession(secrets.token_urlsafe(24), agent_id, protocol_version, 0.0)
        await self._save(session)
        index = f"mcp:sessions-of:{agent_id}"
        raw = await self._state.get(index)
        own = [*json.loads(raw), session.id] if raw else [session.id]
        for dropped in own[: max(len(own) - self._max_per_agent, 0)]:
            await self._state.delete(f"mcp:session:{dropped}")
        kept = own[-self._max_per_agent :]
        await self._state.put(index, json.dumps(kept).encode(), self._idle_s)
        return session

    async def get(self, session_id: str, agent_id: str) -> McpSession | None:
        raw = await self._state.get(f"mcp:session:{session_id}")
        if raw is None:
            return None
        data = json.loads(raw)
        if data["agent_id"] != agent_id:
            return None
        session = McpSession(
            session_id, agent_id, data["protocol_version"], 0.0, data["initialized"]
        )
        await self._save(session)  # used: it lives another idle_s
        return session

    async def mark_initialized(self, session: McpSession) -> None:
        session.initialized = True
        await self._save(session)

    async def close(self, session_id: str, agent_id: str) -> bool:
        if await self.get(session_id, agent_id) is None:
            return False
        await self._state.delete(f"mcp:session:{session_id}")
        return True

    async def _save(self, session: McpSession) -> None:
        record = {
            "agent_id": session.agent_id,
            "protocol_version": session.protocol_version,
            "initialized": session.initialized,
        }
        await self._state.put(
            f"mcp:session:{session.id}", json.dumps(record).encode(), self._idle_s
        )
