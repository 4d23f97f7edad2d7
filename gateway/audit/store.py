"""What the pipeline needs from an audit store; SQLite is the embedded default."""

from __future__ import annotations

from typing import Protocol

from schemas.audit import AuditEvent


class AuditStore(Protocol):
    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def append(self, event: AuditEvent) -> None:
        """Return only once the event is durable."""

    async def query(
        self, *, request_id: str | None = None, agent_id: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        """Events, oldest first, filtered by request or agent."""
