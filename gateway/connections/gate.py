"""The count of client connections one process holds, against its cap."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import structlog

from gateway.connections.budget import LINGERING_MAX

WARN_EVERY_S = 10.0
"""At the cap, one warning per this many seconds (with the count turned away since)."""

log = structlog.get_logger("lastmile.connections")


class ConnectionGate:
    """Admits a connection while fewer than ``limit`` are open; keeps the transports
    being closed politely (bounded by ``LINGERING_MAX``) so shut-down can close them."""

    __slots__ = ("_clock", "_last_warning", "_turned_away", "limit", "lingering", "open")

    def __init__(self, limit: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.open = 0
        self.lingering: set[asyncio.Transport] = set()
        self._clock = clock
        self._turned_away = 0
        self._last_warning: float | None = None

    def admit(self) -> bool:
        if self.open < self.limit:
            self.open += 1
            return True
        self._turned_away += 1
        now = self._clock()
        if self._last_warning is None or now - self._last_warning >= WARN_EVERY_S:
            log.warning(
                "connection_cap_reached",
                max_open=self.limit,
                turned_away=self._turned_away,
                hint="idle or slow clients hold connections; see docs/deployment.md",
            )
            self._last_warning, self._turned_away = now, 0
        return False

    def release(self) -> None:
        self.open -= 1

    def linger(self, transport: asyncio.Transport) -> bool:
        """Take ``transport`` into the polite close, unless too many are already there."""
        if len(self.lingering) >= LINGERING_MAX:
            return False
        self.lingering.add(transport)
        return True

    def close_lingering(self) -> None:
        for transport in list(self.lingering):
            transport.close()
        self.lingering.clear()
