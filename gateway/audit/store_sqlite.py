"""Audit events in SQLite, written with group commit off the event loop.

SQLite is blocking, so every statement runs on one dedicated thread (which also
keeps the connection single-threaded, as sqlite3 wants). ``append`` returns only
after the transaction holding the event has committed with ``synchronous=FULL``;
events that arrive while a commit is in progress wait and are committed together
in the next one, so durability costs one fsync per batch, not one per call.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from schemas.audit import AuditEvent
from schemas.errors import AuditUnavailable

_SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id   TEXT NOT NULL UNIQUE,
    time       TEXT NOT NULL,
    request_id TEXT NOT NULL,
    agent_id   TEXT,
    operation  TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    body       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_request ON audit_events (request_id);
CREATE INDEX IF NOT EXISTS audit_events_agent ON audit_events (agent_id, seq);
"""


class SqliteAuditStore:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="audit-sqlite")
        self._db: sqlite3.Connection | None = None
        self._pending: list[tuple[AuditEvent, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        self._db = await loop.run_in_executor(self._executor, self._connect)

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        return db

    async def close(self) -> None:
        if self._flusher is not None:
            await self._flusher
        if self._db is not None:
            db, self._db = self._db, None
            await asyncio.get_running_loop().run_in_executor(self._executor, db.close)
        self._executor.shutdown(wait=True)

    async def append(self, event: AuditEvent) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((event, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await future

    async def _flush(self) -> None:
        loop = asyncio.get_running_loop()
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await loop.run_in_executor(self._executor, self._write, [e for e, _ in batch])
            except (sqlite3.Error, OSError) as exc:
                error = AuditUnavailable(
                    f"The audit trail cannot be written ({exc}); the outcome of this call "
                    "is not acknowledged. Check the call's effect before retrying a write."
                )
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)

    def _write(self, events: list[AuditEvent]) -> None:
        db = self._require_db()
        db.execute("BEGIN")
        try:
            db.executemany(
                "INSERT INTO audit_events (event_id, time, request_id, agent_id, operation, "
                "outcome, body) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        e.event_id,
                        e.time.isoformat(),
                        e.request_id,
                        e.agent_id,
                        e.operation,
                        e.outcome,
                        e.model_dump_json(),
                    )
                    for e in events
                ],
            )
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    def _require_db(self) -> sqlite3.Connection:
        if self._db is None:
            raise sqlite3.OperationalError("audit store is not open")
        return self._db

    async def query(
        self, *, request_id: str | None = None, agent_id: str | None = None, limit: int = 100
    ) -> list[AuditEvent]:
        def run() -> list[AuditEvent]:
            clauses, params = [], []
            if request_id is not None:
                clauses.append("request_id = ?")
                params.append(request_id)
            if agent_id is not None:
                clauses.append("agent_id = ?")
                params.append(agent_id)
            where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
            rows = (
                self._require_db()
                .execute(
                    f"SELECT body FROM (SELECT seq, body FROM audit_events {where} "  # noqa: S608 - fixed clauses
                    "ORDER BY seq DESC LIMIT ?) ORDER BY seq",
                    (*params, limit),
                )
                .fetchall()
            )
            return [AuditEvent.model_validate_json(body) for (body,) in rows]

        return await asyncio.get_running_loop().run_in_executor(self._executor, run)
