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
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import structlog
from aiohttp import web

from gateway.audit import sqlite_log
from gateway.audit.admin import record_admin_action
from gateway.audit.merkle import Frontier
from gateway.audit.proofcheck import canonical_json
from gateway.audit.signing import CheckpointSigner, format_time
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.audit.verify import LogSnapshot, verify_log
from gateway.config import RetentionConfig

log = structlog.get_logger("lastmile.audit")


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


async def prune(store: SqliteAuditStore, before: datetime, *, actor: str) -> PruneResult | None:
    """Remove events older than ``before``; record the act as an admin event."""
    now = datetime.now(UTC)
    result: PruneResult | None = await store.writer_job(
        lambda db: _prune(db, store.signer, before, now)
    )
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


def _prune(
    db: sqlite3.Connection, signer: CheckpointSigner, before: datetime, now: datetime
) -> PruneResult | None:
    db.execute("BEGIN IMMEDIATE")
    try:
        anchor = sqlite_log.read_anchor(db)
        frontier = Frontier.from_json(anchor["frontier"]) if anchor else Frontier()
        start = frontier.size
        (first_kept,) = db.execute(
            "SELECT MIN(seq) FROM audit_events WHERE time >= ?", (format_time(before),)
        ).fetchone()
        last = sqlite_log.last_row(db)
        end = int(first_kept) if first_kept is not None else (last[0] + 1 if last else start)
        if end <= start:  # nothing is old enough: no need to read the log
            db.execute("ROLLBACK")
            return None
        report = verify_log(
            LogSnapshot(anchor, sqlite_log.iter_entries(db), sqlite_log.read_checkpoints(db))
        )
        if not report.ok:
            raise PruneRefused(
                f"the audit log does not verify, nothing removed: {report.summary()}"
            )
        for leaf in sqlite_log.leaf_hashes(db, start, end):
            frontier.append(leaf)
        (last_leaf,) = db.execute(
            "SELECT leaf_hash FROM audit_events WHERE seq = ?", (end - 1,)
        ).fetchone()
        checkpoint = signer.sign(end, frontier.root(), now)
        new_anchor = {
            "size": end,
            "frontier": frontier.to_json(),
            "last_leaf_hash": last_leaf,
            "checkpoint": checkpoint,
            "pruned_before": format_time(before),
            "pruned_at": format_time(now),
        }
        removed = db.execute("DELETE FROM audit_events WHERE seq < ?", (end,)).rowcount
        db.execute("DELETE FROM audit_checkpoints WHERE tree_size < ?", (end,))
        sqlite_log.insert_checkpoint(db, checkpoint, frontier)
        db.execute(
            "INSERT OR REPLACE INTO audit_anchor (id, body) VALUES (1, ?)",
            (canonical_json(new_anchor).decode(),),
        )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return PruneResult(start, end, removed, checkpoint)


async def apply_retention(store: SqliteAuditStore, days: int) -> None:
    try:
        await prune(store, datetime.now(UTC) - timedelta(days=days), actor="retention")
    except (PruneRefused, sqlite3.Error) as exc:
        log.error("audit_retention_failed", error=str(exc))


async def keep_retention(store: SqliteAuditStore, days: int, every_s: float) -> None:
    """The gateway's retention loop: wait, prune what is older than ``days``, repeat."""
    while True:
        await asyncio.sleep(every_s)
        await apply_retention(store, days)


def retention_context(
    store: SqliteAuditStore, config: RetentionConfig
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
