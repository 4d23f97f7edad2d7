"""The ``server.connections`` section of gateway.yaml.

Every connection holds a file descriptor until it closes. aiohttp on its own keeps an
idle connection for an hour and waits for a request head or body forever, so a few
hundred idle or slowly dripping clients exhaust a 1,024 open-file limit and ordinary
calls start to fail with "Too many open files". These bounds close such connections
and refuse new ones cleanly once the process holds as many as it can afford.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

MAX_OPEN_LIMIT = 1_000_000


def _max_open(value: object) -> object:
    """``auto`` or a whole number from 1 (one message, rather than one per union arm)."""
    if value == "auto":
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_OPEN_LIMIT:
        raise ValueError(
            f"expected 'auto' or a whole number of connections from 1 to {MAX_OPEN_LIMIT}, "
            f"got {value!r}"
        )
    return value


class ConnectionsConfig(BaseModel):
    """Read deadlines, idle close and a per-process cap on open client connections."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    header_s: float = Field(
        default=10,
        gt=0,
        le=300,
        description="The whole request head must arrive within this many seconds of the "
        "connection opening or of its first byte; dripping bytes do not extend it",
    )
    body_s: float = Field(
        default=30,
        gt=0,
        le=3600,
        description="The whole request body must arrive within this many seconds of its head",
    )
    idle_s: float = Field(
        default=75,
        gt=0,
        le=3600,
        description="A keep-alive connection with no request for this long is closed; keep it "
        "above the idle timeout of any proxy or client pool that reuses connections",
    )
    max_open: Annotated[int | Literal["auto"], BeforeValidator(_max_open)] = Field(
        default="auto",
        description="Client connections held at once; more get 503 overloaded. 'auto': the "
        "open-file limit minus what the process needs for itself and its backend pools",
    )
