"""Counts and error rates of calls per agent, owner and backend over the last five
minutes, hour and day, for the "Now" page.

They are read from the audit store, which holds every process's calls, so every
console of a fleet shows the same numbers (a counter in this process's memory would
show only the calls it served and forget them on restart). The read is bounded: the
newest call events of the last day, in pages, at most :data:`MAX_EVENTS`; past that the
page says from which time on its day counts are complete instead of showing a total
it did not read. An error is a call answered with a 5xx status (the gateway or the
backend failed); refusals (4xx: denied, held, throttled) are decisions, not errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from gateway.audit.store import AuditQuery, AuditStore
from schemas.audit import EventKind

WINDOWS = (
    ("5 min", timedelta(minutes=5)),
    ("1 hour", timedelta(hours=1)),
    ("1 day", timedelta(days=1)),
)
DIMENSIONS = (("agent", "agent_id"), ("owner", "agent_owner"), ("backend", "backend"))
PAGE = 1000
MAX_EVENTS = 20_000  # about a second of reading; a busier day is reported as partial


@dataclass(slots=True)
class Count:
    """Calls and errors of one name in one window."""

    calls: int = 0
    errors: int = 0

    @property
    def error_rate(self) -> float:
        return self.errors / self.calls if self.calls else 0.0


@dataclass(slots=True)
class Tallies:
    """``table[dimension][name]`` holds one :class:`Count` per window of :data:`WINDOWS`.
    ``complete_since`` is set when the read stopped at :data:`MAX_EVENTS`: counts cover
    calls from that time on only."""

    table: dict[str, dict[str, list[Count]]] = field(default_factory=dict)
    complete_since: datetime | None = None

    def add(self, event: dict[str, Any], age: timedelta) -> None:
        failed = int(event.get("status") or 0) >= 500
        for dimension, key in DIMENSIONS:
            name = str(event.get(key) or "(none)")
            counts = self.table.setdefault(dimension, {}).setdefault(
                name, [Count() for _ in WINDOWS]
            )
            for count, (_, span) in zip(counts, WINDOWS, strict=True):
                if age <= span:
                    count.calls += 1
                    count.errors += failed


async def tally(store: AuditStore, now: datetime, max_events: int = MAX_EVENTS) -> Tallies:
    """Count the call events of the day before ``now`` (an aware datetime)."""
    result = Tallies()
    since = now - WINDOWS[-1][1]
    after: int | None = None
    read = 0
    oldest: str | None = None
    while read < max_events:
        query = AuditQuery(
            kind=EventKind.CALL.value,
            since=since,
            descending=True,
            after=after,
            limit=min(PAGE, max_events - read),
        )
        entries = await store.search(query)
        for entry in entries:
            result.add(entry.event, now - datetime.fromisoformat(str(entry.event["time"])))
        read += len(entries)
        if len(entries) < query.limit:
            return result
        after = entries[-1].index
        oldest = str(entries[-1].event["time"])
    result.complete_since = datetime.fromisoformat(oldest) if oldest else since
    return result
