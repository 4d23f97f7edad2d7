"""Group commit, shared by the audit stores: appends that arrive while a batch is being
made durable wait for the next batch, so durability costs one write (one fsync, one
synchronous commit) per batch, not per call.

Each append is answered only once its batch is durable; a batch that fails fails every
call in it with ``audit_unavailable`` (503), never leaving one waiting.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import structlog

from gateway.audit.entries import Entry, recordable
from gateway.logs import ship_json_line
from schemas.audit import AuditEvent
from schemas.errors import AuditUnavailable

log = structlog.get_logger("lastmile.audit")

UNWRITABLE = (
    "The audit trail cannot be written; the outcome of this call is not acknowledged. "
    "Check the call's effect before retrying a write."
)

Batch = list[tuple[AuditEvent, bytes]]


async def _nothing() -> None:
    return None


class GroupCommit:
    """``write`` seals and stores one batch durably and returns its entries in order;
    ``after_failure`` runs after a batch failed (e.g. drop a broken connection);
    ``written`` hears how many entries each durable batch added."""

    def __init__(
        self,
        write: Callable[[Batch], Awaitable[list[Entry]]],
        *,
        after_failure: Callable[[], Awaitable[None]] = _nothing,
        written: Callable[[int], None] = lambda count: None,
    ) -> None:
        self._write = write
        self._after_failure = after_failure
        self._written = written
        self._pending: list[tuple[AuditEvent, bytes, asyncio.Future[Entry]]] = []
        self._flusher: asyncio.Task[None] | None = None
        self.last_batch_s = 0.0  # how long the last batch took from hand-over to durable

    async def append(self, event: AuditEvent) -> Entry:
        future: asyncio.Future[Entry] = asyncio.get_running_loop().create_future()
        # rendered here, on the event loop: Python work in a writer thread holds the GIL
        # the event loop needs, for up to a switch interval at a time
        event, rendered = recordable(event)
        self._pending.append((event, rendered, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        return await future

    async def drain(self) -> None:
        """Wait for the batches under way (at shutdown)."""
        if self._flusher is not None:
            await self._flusher

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            started = loop.time()
            try:
                entries = await self._write([(event, rendered) for event, rendered, _ in batch])
            except Exception as exc:  # any failure fails these calls closed, never hangs them
                log.error("audit_write_failed", error=type(exc).__name__, events=len(batch))
                await self._after_failure()
                for _, _, future in batch:
                    if not future.done():
                        future.set_exception(AuditUnavailable(UNWRITABLE))
                continue
            self.last_batch_s = loop.time() - started
            for (event, rendered, future), entry in zip(batch, entries, strict=True):
                ship_json_line(
                    event.kind.value,
                    rendered.decode("utf-8"),
                    index=entry.index,
                    leaf_hash=entry.leaf_hash,
                )  # the same event, once durable, as one JSON line for Splunk, ELK or Loki
                if not future.done():
                    future.set_result(entry)
            self._written(len(entries))
