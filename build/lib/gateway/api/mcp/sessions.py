"""Handshake-era MCP sessions: which agent opened each, at which version, bounded.

Only clients of revisions before 2026-07-28 have sessions. The store is bounded both
ways: sessions idle for longer than ``idle_s`` expire, and when ``max_sessions`` are
open the least recently used one is dropped, so a client that never ends its sessions
cannot grow the gateway's memory. An agent past ``max_per_agent`` loses its own oldest
session first, so one agent opening sessions in a loop cannot push out the others'.
The clock is injected so tests move time.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(slots=True)
class McpSession:
    id: str
    agent_id: str
    protocol_version: str
    last_seen: float
    initialized: bool = False


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

    def open(self, agent_id: str, protocol_version: str) -> McpSession:
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

    def get(self, session_id: str, agent_id: str) -> McpSession | None:
        """The live session with this id opened by this agent; another agent's is not found."""
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

    def close(self, session_id: str, agent_id: str) -> bool:
        if self.get(session_id, agent_id) is None:
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
