"""The fleet's audit log in PostgreSQL: one global chain that every gateway process
appends to, with the entry format, verification and proofs of the SQLite log.

``append`` returns once the batch holding the event is durable. Events that arrive while
a batch is in flight go into the next one (group commit). Each batch is two statements
on the store's own connection (``synchronous_commit = on``): ``audit_append`` (see
:mod:`pg_schema`) seals the batch under the head row's lock inside the server, so no
network round trip happens while the lock is held, and commits without waiting for the
flush; then the writer's row in ``audit_writers`` is updated with a synchronous commit,
whose WAL flush covers the batch (WAL is flushed in order). Only then are callers
answered. The server answers with where the
batch started; the store seals the same entries locally to answer its callers and
checks that its last leaf hash is the server's (the two must agree byte for byte).
The store keeps no head of its own: every batch starts from the stored head, so a
store recovers by itself after another process appended or the server came back.

Any process may sign a checkpoint (all share the fleet's key): each one signs when its
timer (``every_s``) finds entries beyond the latest checkpoint, or after it appended
``every_events`` entries. An unreachable server fails the batch with
``AuditUnavailable`` (bounded by the connect and statement timeouts); the transaction
is all or nothing, so nothing is half-written.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import asyncpg
import structlog

from gateway.audit import pg_log
from gateway.audit.entries import Entry, seal_rendered
from gateway.audit.group_commit import UNWRITABLE, GroupCommit
from gateway.audit.merkle import Frontier
from gateway.audit.pg_prune import prune_postgres
from gateway.audit.pg_schema import MIGRATIONS
from gateway.audit.proofcheck import canonical_json
from gateway.audit.signing import CheckpointSigner, format_time
from gateway.audit.store import AuditQuery, PruneResult
from gateway.config import AuditConfig
from gateway.postgres import Postgres, migrate, unavailable_as
from schemas.audit import AuditEvent
from schemas.errors import AuditUnavailable

log = structlog.get_logger("lastmile.audit")

Clock = Callable[[], datetime]

_UNREADABLE = "The audit trail cannot be read right now."
_APPEND = "SELECT * FROM audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
_WRITER_SEEN = (
    "INSERT INTO audit_writers AS w (writer, last_append, last_index, appended) "
    "VALUES ($1, now(), $2, $3) ON CONFLICT (writer) DO UPDATE SET last_append = now(), "
    "last_index = GREATEST(w.last_index, excluded.last_index), "
    "appended = w.appended + excluded.appended"
)


def _now() -> datetime:
    return datetime.now(UTC)


def default_writer() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class PostgresAuditStore:
    def __init__(
        self,
        postgres: Postgres,
        signer: CheckpointSigner | None = None,
        *,
        writer: str | None = None,
        checkpoint_every_events: int = 1000,
        checkpoint_every_s: float = 60.0,
        clock: Clock = _now,
    ) -> None:
        self.postgres = postgres
        self.signer = signer or CheckpointSigner.ephemeral()
        self.writer = writer or default_writer()
        self._every_events = checkpoint_every_events
        self._every_s = checkpoint_every_s
        self._clock = clock
        self._db: asyncpg.Connection | None = None
        self._batches = GroupCommit(
            self._write, after_failure=self._drop_connection, written=self._note_appended
        )
        self._ticker: asyncio.Task[None] | None = None
        self._signing: asyncio.Task[Any] | None = None
        self._since_checkpoint = 0
        self.commits = 0

    @classmethod
    def from_config(
        cls, config: AuditConfig, postgres: Postgres, *, writer: str | None = None
    ) -> PostgresAuditStore:
        return cls(
            postgres,
            CheckpointSigner.from_config(config.checkpoints),
            writer=writer,
            checkpoint_every_events=config.checkpoints.every_events,
            checkpoint_every_s=config.checkpoints.every_s,
        )

    @property
    def public_key_b64(self) -> str:
        return self.signer.public_key_b64

    # life cycle ---------------------------------------------------------------------

    async def open(self) -> None:
        await migrate(self.postgres.pool, "audit", MIGRATIONS)
        self._ticker = asyncio.create_task(self._tick())

    async def close(self) -> None:
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        await self._batches.drain()
        if self._signing is not None:
            with contextlib.suppress(AuditUnavailable):
                await self._signing
        with contextlib.suppress(AuditUnavailable):
            await self.checkpoint()  # the last word of a clean shutdown is a signed head
        await self._drop_connection()

    async def _tick(self) -> None:
        """Sign whenever the log grew past the latest checkpoint, every ``every_s``."""
        while True:
            await asyncio.sleep(self._every_s)
            await self._checkpoint_quietly()

    async def _connection(self) -> asyncpg.Connection:
        """The store's own connection for appends: batches are serial per process, and a
        session of its own guarantees ``synchronous_commit = on`` whatever the server's
        default."""
        if self._db is None or self._db.is_closed():
            config = self.postgres.config
            self._db = await asyncpg.connect(
                dsn=config.dsn.get_secret_value(),
                timeout=config.connect_timeout,
                command_timeout=config.statement_timeout + 1.0,
                server_settings={
                    "application_name": "lastmile-audit",
                    "synchronous_commit": "on",
                    "statement_timeout": str(int(config.statement_timeout * 1000)),
                },
            )
        return self._db

    async def _drop_connection(self) -> None:
        db, self._db = self._db, None
        if db is not None and not db.is_closed():
            db.terminate()

    # appending ----------------------------------------------------------------------

    @property
    def last_batch_s(self) -> float:
        return self._batches.last_batch_s

    async def append(self, event: AuditEvent) -> Entry:
        """Durable (the writer's synchronous commit) before it returns; see GroupCommit."""
        return await self._batches.append(event)

    async def _write(self, events: list[tuple[AuditEvent, bytes]]) -> list[Entry]:
        columns: list[list[Any]] = [[] for _ in range(10)]
        for event, rendered in events:
            values = (
                rendered,
                event.event_id,
                format_time(event.time),
                event.request_id,
                event.kind.value,
                event.agent_id,
                event.agent_owner,
                event.operation,
                event.decision.value,
                event.outcome,
            )
            for column, value in zip(columns, values, strict=True):
                column.append(value)
        db = await self._connection()
        row = await db.fetchrow(_APPEND, self.writer, *columns)
        if row is None:
            raise RuntimeError("audit_append answered nothing")
        entries = _seal_locally(
            int(row["first_index"]), row["first_prev"], row["last_hash"], events
        )
        # the durable step: a synchronous commit flushes the WAL through the batch above
        await db.execute(_WRITER_SEEN, self.writer, entries[-1].index, len(entries))
        self.commits += 1
        return entries

    def _note_appended(self, count: int) -> None:
        self._since_checkpoint += count
        if self._since_checkpoint >= self._every_events and (
            self._signing is None or self._signing.done()
        ):
            self._since_checkpoint = 0
            self._signing = asyncio.create_task(self._checkpoint_quietly())

    async def _checkpoint_quietly(self) -> None:
        """A failed checkpoint is logged and retried at the next tick: the timer must
        outlive any one failure, or events would stop being covered."""
        try:
            await self.checkpoint()
        except AuditUnavailable:
            log.warning("audit_checkpoint_failed", reason="postgres unreachable")
        except Exception as exc:
            log.error("audit_checkpoint_failed", error=type(exc).__name__)

    # checkpoints --------------------------------------------------------------------

    async def checkpoint(self) -> dict[str, Any] | None:
        """Sign the stored head now, unless the latest checkpoint already covers it."""
        with unavailable_as(AuditUnavailable, UNWRITABLE):
            async with self.postgres.pool.acquire() as db:
                row = await db.fetchrow(
                    "SELECT h.size, h.frontier, c.body FROM audit_head h LEFT JOIN LATERAL "
                    "(SELECT tree_size, body FROM audit_checkpoints "
                    "ORDER BY tree_size DESC LIMIT 1) c ON true WHERE h.id = 1"
                )
                if row is None:
                    return None
                latest = json.loads(row["body"]) if row["body"] else None
                size = int(row["size"])
                if size == 0 or (latest is not None and latest["tree_size"] >= size):
                    return latest
                root = Frontier(size, list(row["frontier"])).root()
                checkpoint = self.signer.sign(size, root, self._clock())
                status = await db.execute(
                    "INSERT INTO audit_checkpoints (tree_size, time, body, writer) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (tree_size) DO NOTHING",
                    size,
                    checkpoint["time"],
                    canonical_json(checkpoint).decode(),
                    self.writer,
                )
                if status == "INSERT 0 0":  # another process signed this size first
                    body = await db.fetchval(
                        "SELECT body FROM audit_checkpoints WHERE tree_size = $1", size
                    )
                    checkpoint = json.loads(body)
        self._since_checkpoint = 0
        return checkpoint

    # reading ------------------------------------------------------------------------

    async def latest_checkpoint(self) -> dict[str, Any] | None:
        with unavailable_as(AuditUnavailable, _UNREADABLE):
            async with self.postgres.pool.acquire() as db:
                return await pg_log.latest_checkpoint(db)

    async def inclusion_proof(self, request_id: str) -> dict[str, Any]:
        with unavailable_as(AuditUnavailable, _UNREADABLE):
            async with self.postgres.pool.acquire() as db:
                return await pg_log.inclusion_proof(db, request_id)

    async def consistency_proof(self, first: int, second: int | None) -> dict[str, Any]:
        with unavailable_as(AuditUnavailable, _UNREADABLE):
            async with self.postgres.pool.acquire() as db:
                return await pg_log.consistency_proof(db, first, second)

    async def search(self, query: AuditQuery) -> list[Entry]:
        with unavailable_as(AuditUnavailable, _UNREADABLE):
            async with self.postgres.pool.acquire() as db:
                return await pg_log.search(db, query)

    async def newest_index(self) -> int:
        """The console's live feed follows the trail from here (see gateway/audit/feed.py)."""
        with unavailable_as(AuditUnavailable, _UNREADABLE):
            async with self.postgres.pool.acquire() as db:
                return await pg_log.newest_durable_index(db)

    async def entries_after(self, index: int, limit: int) -> list[Entry]:
        """Entries after ``index`` once durable, so a viewer never sees a call the trail
        could still lose."""
        with unavailable_as(AuditUnavailable, _UNREADABLE):
            async with self.postgres.pool.acquire() as db:
                return await pg_log.durable_entries_after(db, index, limit)

    async def query(
        self, *, request_id: str | None = None, agent_id: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        entries = await self.search(
            AuditQuery(request_id=request_id, agent_id=agent_id, limit=limit, descending=True)
        )
        return [AuditEvent.model_validate(e.event) for e in reversed(entries)]

    async def writers(self) -> list[dict[str, Any]]:
        with unavailable_as(AuditUnavailable, _UNREADABLE):
            async with self.postgres.pool.acquire() as db:
                return await pg_log.writers(db)

    # retention ----------------------------------------------------------------------

    async def prune(self, before: datetime, now: datetime) -> PruneResult | None:
        with unavailable_as(AuditUnavailable, UNWRITABLE):
            return await prune_postgres(self.postgres.pool, self.signer, before, now)


def _seal_locally(
    first: int, prev: str, last_hash: str, events: list[tuple[AuditEvent, bytes]]
) -> list[Entry]:
    """The entries the server just sealed, rebuilt here from where the batch started."""
    entries = []
    for offset, (_, rendered) in enumerate(events):
        entry = seal_rendered(first + offset, prev, rendered)
        entries.append(entry)
        prev = entry.leaf_hash
    if prev != last_hash:
        raise RuntimeError("the server sealed the batch differently from this process")
    return entries
