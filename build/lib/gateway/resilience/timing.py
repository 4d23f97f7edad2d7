"""Where resilience gets the time and how it waits, injected so tests move time instead
of sleeping (the lesson of tenacity and aiobreaker)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Timing:
    clock: Callable[[], float] = time.time  # seconds; also the state store's clock
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep  # backoff between attempts
