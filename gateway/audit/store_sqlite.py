"""The audit log in SQLite: sealed with a hash chain and a Merkle tree, written with
group commit off the event loop, checkpointed with signatures.

Every statement that writes runs on one dedicated thread. ``append`` returns only after
the transaction holding the event has committed with ``synchronous=FULL``; events that
arrive while a commit is in progress are committed together in the next one, so
durability costs one fsync per batch, not one per call. The writer thread assigns each
entry its index and predecessor hash inside the transaction, so the chain follows commit
order whatever the concurrency. Before each batch it checks that the last stored row is
the one it knows; if another process appended in between, it reloads the head, so
several processes may share one file. Reads run on a second connection and thread
(WAL lets them proceed while a commit is in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import structlog

from gateway.audit import sqlite_log
from gateway.audit.entries import Entry, seal_rendered
from gateway.audit.group_commit import GroupCommit
from gateway.audit.merkle import Frontier
from gateway.audit.proofcheck import ZERO_HASH
from gateway.audit.prove import consistency_proof, inclusion_proof
from gateway.audit.prune_sqlite import prune_sqlite
from gateway.audit.signing import CheckpointSigner, format_time
from gateway.audit.sqlite_log import Head
from gateway.audit.store import AuditQuery, PruneResult
from gateway.config import AuditConfig
from schemas.audit import AuditEvent

log = structlog.get_logger("lastmile.audit")

Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


class SqliteAuditStore:
    def __init__(
        self,
        path: Path,
        signer: CheckpointSigner | None = None,
        *,
        checkpoint_every_events: int = 1000,
        checkpoint_every_s: float = 60.0,
        clock: Clock = _now,
    ) -> None:
        self.path = path
        self.signer = signer or CheckpointSigner.ephemeral()
        self._every_events = checkpoint_every_events
        self._every_s = checkpoint_every_s
        self._clock = clock
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-writer")
        self._reader = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-reader")
        self._db: sqlite3.Connection | None = None
        self._read_db: sqlite3.Connection | None = None
        self._head = Head(Frontier(), ZERO_HASH)
        self._checkpointed_size = 0
        self._checkpointed_at = time.monotonic()
        self._batches = GroupCommit(self._write_on_thread)
        self._ticker: asyncio.Task[None] | None = None
        self.commits = 0  # transactions that appended events (group commit: fewer than events)

    @classmethod
    def from_config(cls, config: AuditConfig, *, clock: Clock = _now) -> SqliteAuditStore:
        return cls(
            Path(config.path),
            CheckpointSigner.from_config(config.checkpoints),
            checkpoint_every_events=config.checkpoints.every_events,
            checkpoint_every_s=config.checkpoints.every_s,
            clock=clock,
        )

    @property
    def public_key_b64(self) -> str:
        return self.signer.public_key_b64

    # life cycle ---------------------------------------------------------------------

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._writer, self._open_writer)
        self._read_db = await loop.run_in_executor(
            self._reader, lambda: sqlite_log.connect(self.path, create=False)
        )
        self._ticker = asyncio.create_task(self._tick())

    def _open_writer(self) -> None:
        db = sqlite_log.connect(self.path, create=True)
        self._db = db
        self._head = sqlite_log.load_head(db)
        latest = sqlite_log.latest_checkpoint(db)
        self._checkpointed_size = int(latest["tree_size"]) if latest else 0

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self._batches.drain()
        loop = asyncio.get_running_loop()
        if self._db is not None:
            with contextlib.suppress(sqlite3.Error):
                await self.checkpoint()  # the last word of a clean shutdown is a signed head
            db, self._db = self._db, None
            await loop.run_in_executor(self._writer, db.close)
        if self._read_db is not None:
            read_db, self._read_db = self._read_db, None
            await loop.run_in_executor(self._reader, read_db.close)
        self._writer.shutdown(wait=True)
        self._reader.shutdown(wait=True)

    async def _tick(self) -> None:
        """Checkpoint at least every ``checkpoint_every_s`` while events keep coming."""
        while True:
            await asyncio.sleep(self._every_s)
            if self._head.size > self._checkpointed_size:
                try:
                    await self.checkpoint()
                except sqlite3.Error:
                    log.exception("audit_checkpoint_failed")

    # appending ----------------------------------------------------------------------

    @property
    def last_batch_s(self) -> float:
        return self._batches.last_batch_s

    async def append(self, event: AuditEvent) -> Entry:
        return await self._batches.append(event)

    async def _write_on_thread(self, events: list[tuple[AuditEvent, bytes]]) -> list[Entry]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self._write, events)

    def _write(self, events: list[tuple[AuditEvent, bytes]]) -> list[Entry]:
        db = self._require_db()
        db.execute("BEGIN IMMEDIATE")
        try:
            head = self._current_head(db)
            frontier, last = head.frontier.copy(), head.last_hash
            entries = []
            for event, rendered in events:
                entry = seal_rendered(frontier.size, last, rendered)
                _insert(db, event, entry)
                frontier.append(bytes.fromhex(entry.leaf_hash))
                last = entry.leaf_hash
                entries.append(entry)
            new_head = Head(frontier, last)
            checkpointed = self._checkpoint_if_due(db, new_head)
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise
        self.commits += 1
        self._head = new_head
        if checkpointed:
            self._note_checkpoint(new_head.size)
        return entries

    def _current_head(self, db: sqlite3.Connection) -> Head:
        """Our head, or the stored one if another writer appended since our last batch."""
        head = self._head
        expected = (head.size - 1, head.last_hash) if head.size else None
        if sqlite_log.last_row(db) != expected:
            head = sqlite_log.load_head(db)
        return head

    def _checkpoint_if_due(self, db: sqlite3.Connection, head: Head) -> bool:
        new = head.size - self._checkpointed_size
        due = new >= self._every_events or (
            new > 0 and time.monotonic() - self._checkpointed_at >= self._every_s
        )
        if due:
            self._insert_checkpoint(db, head)
        return due

    def _insert_checkpoint(self, db: sqlite3.Connection, head: Head) -> dict[str, Any]:
        checkpoint = self.signer.sign(head.size, head.frontier.root(), self._clock())
        sqlite_log.insert_checkpoint(db, checkpoint, head.frontier)
        return checkpoint

    def _note_checkpoint(self, size: int) -> None:
        self._checkpointed_size = size
        self._checkpointed_at = time.monotonic()

    async def checkpoint(self) -> dict[str, Any] | None:
        return await asyncio.get_running_loop().run_in_executor(self._writer, self._checkpoint)

    def _checkpoint(self) -> dict[str, Any] | None:
        db = self._require_db()
        db.execute("BEGIN IMMEDIATE")
        try:
            head = self._current_head(db)
            latest = sqlite_log.latest_checkpoint(db)
            if head.size == 0 or (latest and latest["tree_size"] == head.size):
                db.execute("COMMIT")
                return latest
            checkpoint = self._insert_checkpoint(db, head)
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise
        self._head = head
        self._note_checkpoint(head.size)
        return checkpoint

    def run_in_writer(self, job: Callable[[sqlite3.Connection], Any]) -> Any:
        """Run ``job`` on the writer thread's connection (used by retention)."""
        result = job(self._require_db())
        self._head = sqlite_log.load_head(self._require_db())
        return result

    async def writer_job(self, job: Callable[[sqlite3.Connection], Any]) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._writer, self.run_in_writer, job)

    async def prune(self, before: datetime, now: datetime) -> PruneResult | None:
        result: PruneResult | None = await self.writer_job(
            lambda db: prune_sqlite(db, self.signer, before, now)
        )
        return result

    def _require_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.OperationalError("audit store is not open")
        return self._db

    # reading ------------------------------------------------------------------------

    async def _read(self, job: Callable[[sqlite3.Connection], Any]) -> Any:
        def run() -> Any:
            if self._read_db is None:
                raise sqlite3.OperationalError("audit store is not open")
            return job(self._read_db)

        return await asyncio.get_running_loop().run_in_executor(self._reader, run)

    async def latest_checkpoint(self) -> dict[str, Any] | None:
        checkpoint: dict[str, Any] | None = await self._read(sqlite_log.latest_checkpoint)
        return checkpoint

    async def inclusion_proof(self, request_id: str) -> dict[str, Any]:
        proof: dict[str, Any] = await self._read(lambda db: inclusion_proof(db, request_id))
        return proof

    async def consistency_proof(self, first: int, second: int | None) -> dict[str, Any]:
        proof: dict[str, Any] = await self._read(lambda db: consistency_proof(db, first, second))
        return proof

    async def search(self, query: AuditQuery) -> list[Entry]:
        rows: list[Entry] = await self._read(lambda db: sqlite_log.search(db, query))
        return rows

    async def query(
        self, *, request_id: str | None = None, agent_id: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        entries = await self.search(
            AuditQuery(request_id=request_id, agent_id=agent_id, limit=limit, descending=True)
        )
        return [AuditEvent.model_validate(e.event) for e in reversed(entries)]


def _rollback(db: sqlite3.Connection) -> None:
    """Undo what the failed transaction did; a failed COMMIT can leave it open."""
    if db.in_transaction:
        db.execute("ROLLBACK")


def _insert(db: sqlite3.Connection, event: AuditEvent, entry: Entry) -> None:
    db.execute(
        "INSERT INTO audit_events (seq, event_id, time, request_id, kind, agent_id, "
        "agent_owner, operation, decision, outcome, prev_hash, leaf_hash, entry) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            entry.index,
            event.event_id,
            format_time(event.time),
            event.request_id,
            event.kind.value,
            event.agent_id,
            event.agent_owner,
            event.operation,
            event.decision.value,
            event.outcome,
            entry.prev_hash,
            entry.leaf_hash,
            entry.text,
        ),
    )
