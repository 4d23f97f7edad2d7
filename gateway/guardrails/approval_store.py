"""Held calls: the store protocol, and its embedded default in SQLite.

A held call keeps its validated input (canonical JSON, kept as the exact text that was
hashed) and that input's SHA-256; the status moves only forward, each move a single
conditional ``UPDATE`` so two approvers (or two gateway processes) can never both start
the same execution::

    pending ─► executing ─► executed | failed
       ├─────► rejected
       └─────► expired

:class:`HeldCallStore` is the seam the approval desk sees. :class:`SqliteHeldCallStore`
(one file, off the event loop on one dedicated thread) serves one host;
``gateway.guardrails.approval_store_postgres`` serves a fleet from one database.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

_SCHEMA = """
CREATE TABLE IF NOT EXISTS approvals (
    id              TEXT PRIMARY KEY,
    status          TEXT NOT NULL,
    created_at      REAL NOT NULL,
    expires_at      REAL NOT NULL,
    request_id      TEXT NOT NULL,
    agent_id        TEXT NOT NULL,
    on_behalf_of    TEXT,
    operation       TEXT NOT NULL,
    input_json      TEXT NOT NULL,
    input_sha256    TEXT NOT NULL,
    policy_ids      TEXT NOT NULL,
    reasons         TEXT NOT NULL,
    decided_by      TEXT,
    decided_at      REAL,
    decision_reason TEXT,
    result_json     TEXT,
    error_json      TEXT,
    execution_request_id TEXT,
    preview_json    TEXT
);
CREATE INDEX IF NOT EXISTS approvals_status ON approvals (status, created_at);
"""
# Columns added after a release, in order: a file made by an older gateway gains them
# on open (ALTER TABLE ... ADD COLUMN, NULL in the calls it already holds).
_ADDED = (("preview_json", "TEXT"),)
COLUMNS = (
    "id", "status", "created_at", "expires_at", "request_id", "agent_id", "on_behalf_of",
    "operation", "input_json", "input_sha256", "policy_ids", "reasons", "decided_by",
    "decided_at", "decision_reason", "result_json", "error_json", "execution_request_id",
    "preview_json",
)  # fmt: skip
STATUSES = ("pending", "executing", "executed", "failed", "rejected", "expired")
_SETTABLE = frozenset(
    {"decided_by", "decided_at", "decision_reason", "result_json", "error_json",
     "execution_request_id"}
)  # fmt: skip


def move_values(values: dict[str, Any]) -> dict[str, Any]:
    """The columns a status move sets: ``result``/``error`` as JSON text, nothing else
    than the decision and outcome columns (the input and its hash never change)."""
    columns = dict(values)
    for key in ("result", "error"):
        if key in columns:
            value = columns.pop(key)
            columns[f"{key}_json"] = json.dumps(value) if value is not None else None
    unknown = set(columns) - _SETTABLE
    if unknown:
        raise ValueError(f"a move cannot set {sorted(unknown)}")
    return columns


@dataclass(slots=True)
class HeldCall:
    id: str
    status: str
    created_at: float
    expires_at: float
    request_id: str
    agent_id: str
    on_behalf_of: str | None
    operation: str
    input_json: str
    input_sha256: str
    policy_ids: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    decided_by: str | None = None
    decided_at: float | None = None
    decision_reason: str | None = None
    result: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    execution_request_id: str | None = None
    # what it would do, worked out when held (gateway.guardrails.held_preview); None for
    # calls held before previews were stored
    preview: dict[str, Any] | None = None

    def row(self) -> tuple[Any, ...]:
        return (
            self.id, self.status, self.created_at, self.expires_at, self.request_id,
            self.agent_id, self.on_behalf_of, self.operation, self.input_json, self.input_sha256,
            json.dumps(self.policy_ids), json.dumps(self.reasons), self.decided_by,
            self.decided_at, self.decision_reason,
            json.dumps(self.result) if self.result is not None else None,
            json.dumps(self.error) if self.error is not None else None,
            self.execution_request_id,
            json.dumps(self.preview) if self.preview is not None else None,
        )  # fmt: skip

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> HeldCall:
        data = dict(zip(COLUMNS, row, strict=True))
        data["policy_ids"] = json.loads(data["policy_ids"])
        data["reasons"] = json.loads(data["reasons"])
        result, error = data.pop("result_json"), data.pop("error_json")
        preview = data.pop("preview_json")
        return cls(
            **data,
            result=json.loads(result) if result else None,
            error=json.loads(error) if error else None,
            preview=json.loads(preview) if preview else None,
        )


class HeldCallStore(Protocol):
    """Where held calls live. ``move`` is the only way a status changes: one conditional
    update, so of several concurrent moves from the same status exactly one succeeds.
    A store that cannot reach its engine raises ``ApprovalsUnavailable`` and has
    changed nothing it reported."""

    async def open(self) -> None: ...

    async def close(self) -> None: ...

    async def add(self, held: HeldCall) -> None: ...

    async def get(self, approval_id: str) -> HeldCall | None: ...

    async def find(self, status: str | None, limit: int = 100) -> list[HeldCall]: ...

    async def move(self, approval_id: str, source: str, target: str, **values: Any) -> bool: ...

    async def count_pending(self) -> int: ...


class SqliteHeldCallStore:
    """The embedded default: one SQLite file (WAL, ``synchronous=FULL``) on this host."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="approvals")
        self._db: sqlite3.Connection | None = None

    async def open(self) -> None:
        self._db = await self._run(self._connect)

    def _connect(self) -> sqlite3.Connection:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self._path, isolation_level=None)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=FULL")
        db.executescript(_SCHEMA)
        present = {row[1] for row in db.execute("PRAGMA table_info(approvals)")}
        for column, kind in _ADDED:
            if column not in present:
                db.execute(f"ALTER TABLE approvals ADD COLUMN {column} {kind}")
        return db

    async def close(self) -> None:
        if self._db is not None:
            db, self._db = self._db, None
            await self._run(db.close)
        self._executor.shutdown(wait=True)

    async def _run(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    def _conn(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the approval store is not open")
        return self._db

    async def count_pending(self) -> int:
        """How many held calls wait for a person now (for the metrics)."""

        def count() -> int:
            sql = "SELECT COUNT(*) FROM approvals WHERE status = 'pending'"
            return int(self._conn().execute(sql).fetchone()[0])

        result: int = await self._run(count)
        return result

    async def add(self, held: HeldCall) -> None:
        placeholders = ", ".join("?" * len(COLUMNS))
        sql = f"INSERT INTO approvals ({', '.join(COLUMNS)}) VALUES ({placeholders})"  # noqa: S608 - constant columns
        await self._run(self._conn().execute, sql, held.row())

    async def get(self, approval_id: str) -> HeldCall | None:
        def fetch() -> HeldCall | None:
            sql = f"SELECT {', '.join(COLUMNS)} FROM approvals WHERE id = ?"  # noqa: S608
            row = self._conn().execute(sql, (approval_id,)).fetchone()
            return HeldCall.from_row(row) if row else None

        found: HeldCall | None = await self._run(fetch)
        return found

    async def find(self, status: str | None, limit: int = 100) -> list[HeldCall]:
        def fetch() -> list[HeldCall]:
            sql = f"SELECT {', '.join(COLUMNS)} FROM approvals"  # noqa: S608
            args: tuple[Any, ...] = ()
            if status:
                sql += " WHERE status = ?"
                args = (status,)
            rows = self._conn().execute(sql + " ORDER BY created_at LIMIT ?", (*args, limit))
            return [HeldCall.from_row(r) for r in rows.fetchall()]

        found: list[HeldCall] = await self._run(fetch)
        return found

    async def move(self, approval_id: str, source: str, target: str, **values: Any) -> bool:
        """Move from ``source`` to ``target`` status, setting ``values``; False if the call
        was no longer in ``source`` (someone else moved it first)."""
        values = move_values(values)
        sets = ", ".join(["status = ?", *(f"{k} = ?" for k in values)])
        sql = f"UPDATE approvals SET {sets} WHERE id = ? AND status = ?"  # noqa: S608 - keys are ours

        def update() -> bool:
            cursor = self._conn().execute(sql, (target, *values.values(), approval_id, source))
            return cursor.rowcount == 1

        moved: bool = await self._run(update)
        return moved
