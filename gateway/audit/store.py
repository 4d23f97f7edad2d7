"""What the pipeline and the auditor APIs need from an audit store; SQLite is the default."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from gateway.audit.entries import Entry
from schemas.audit import AuditEvent


@dataclass(frozen=True, slots=True)
class AuditQuery:
    """Filters for auditors; every given filter must match. ``after`` is the keyset
    cursor (an entry index, exclusive), so pages stay stable while events are appended."""

    agent_id: str | None = None
    agent_owner: str | None = None
    operation: str | None = None
    decision: str | None = None
    outcome: str | None = None
    kind: str | None = None
    request_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    after: int | None = None
    descending: bool = False
    limit: int = 100


class PruneRefused(Exception):
    """The log does not verify; nothing was removed."""


@dataclass(frozen=True)
class PruneResult:
    start: int
    end: int
    removed: int
    checkpoint: dict[str, Any]

    def summary(self) -> str:
        return (
            f"removed entries {self.start}..{self.end - 1} ({self.removed}); the rest is "
            f"anchored at the checkpoint of size {self.end}, root {self.checkpoint['root_hash']}"
        )


class AuditStore(Protocol):
    @property
    def last_batch_s(self) -> float:
        """How long the last durable batch took (the write-lag metric)."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def append(self, event: AuditEvent) -> Entry:
        """Return only once the event is durable; the entry says where it sits in the log."""

    async def query(
        self, *, request_id: str | None = None, agent_id: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        """Events, oldest first, filtered by request or agent."""

    async def search(self, query: AuditQuery) -> list[Entry]:
        """Sealed entries matching ``query``, in index order (or reversed)."""

    async def checkpoint(self) -> dict[str, Any] | None:
        """Sign a checkpoint at the current size now (None when the log is empty)."""

    async def latest_checkpoint(self) -> dict[str, Any] | None: ...

    async def inclusion_proof(self, request_id: str) -> dict[str, Any]:
        """An RFC 9162 inclusion proof of the request's event under the latest checkpoint."""

    async def consistency_proof(self, first: int, second: int | None) -> dict[str, Any]:
        """An RFC 9162 consistency proof between two signed checkpoints."""

    async def prune(self, before: datetime, now: datetime) -> PruneResult | None:
        """Remove the entries older than ``before`` (a prefix), after verifying the whole
        log, and anchor the rest at a checkpoint signed at ``now`` (see retention.py)."""

    @property
    def public_key_b64(self) -> str: ...
