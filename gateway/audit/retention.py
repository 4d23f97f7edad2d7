"""Retention: remove the oldest events, record that we did, and keep the rest verifiable.

Pruning removes a prefix of the log, entries ``[start, end)``, where ``end`` is the first
entry newer than the cutoff. Before anything is deleted the whole log is verified
(a tampered log is never blessed), and in the same transaction the writer signs a
checkpoint at size ``end`` and stores the *anchor*: the Merkle frontier of the removed
prefix (at most log2(end) hashes) and the leaf hash of entry ``end - 1``. Verification
then starts from the anchor: the frontier must fold to the signed root at ``end``, the
first kept entry's ``prev_hash`` must be the anchored leaf hash, and every later
checkpoint's root is recomputed from the frontier plus the kept leaves. The prune is
then appended to the log as an administrative event.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import structlog
from aiohttp import web

from gateway.audit.admin import record_admin_action
from gateway.audit.signing import format_time
from gateway.audit.store import AuditStore, PruneRefused, PruneResult
from gateway.config import RetentionConfig
from schemas.errors import AuditUnavailable

__all__ = ["PruneRefused", "PruneResult", "apply_retention", "prune", "retention_context"]

log = structlog.get_logger("lastmile.audit")


async def prune(store: AuditStore, before: datetime, *, actor: str) -> PruneResult | None:
    """Remove events older than ``before``; record the act as an admin event."""
    result = await store.prune(before, datetime.now(UTC))
    if result is not None:
        await record_admin_action(
            store,
            request_id="adm_" + uuid.uuid4().hex,
            actor=actor,
            action="audit_prune",
            target=f"audit entries {result.start}..{result.end - 1}",
            detail=f"retention: removed {result.removed} events older than "
            f"{format_time(before)}; anchored at checkpoint size {result.end} root "
            f"{result.checkpoint['root_hash']}",
        )
    return result


async def apply_retention(store: AuditStore, days: int) -> None:
    try:
        await prune(store, datetime.now(UTC) - timedelta(days=days), actor="retention")
    except (PruneRefused, sqlite3.Error, AuditUnavailable) as exc:
        log.error("audit_retention_failed", error=str(exc))


async def keep_retention(store: AuditStore, days: int, every_s: float) -> None:
    """The gateway's retention loop: wait, prune what is older than ``days``, repeat."""
    while True:
        await asyncio.sleep(every_s)
        await apply_retention(store, days)


def retention_context(
    store: AuditStore, config: RetentionConfig
) -> Callable[[web.Application], AsyncIterator[None]]:
    """An aiohttp cleanup context: retention applied at start-up (before the first call is
    served), then every ``check_every_s`` while the gateway is up."""

    async def run(app: web.Application) -> AsyncIterator[None]:
        task = None
        if config.days is not None:
            await apply_retention(store, config.days)
            task = asyncio.create_task(keep_retention(store, config.days, config.check_every_s))
        yield
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    return run
