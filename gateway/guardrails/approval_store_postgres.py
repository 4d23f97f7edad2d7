"""Held calls in PostgreSQL: one desk for every gateway process of a fleet.

The same contract as the SQLite store (:class:`HeldCallStore`): a call held by one
process is listed, polled and decided by any other, and ``pending -> executing`` is one
conditional ``UPDATE``: under PostgreSQL's row lock a second concurrent move re-reads
the row after the first commits, finds it no longer ``pending`` and changes nothing, so
exactly one approver (on whichever process) starts the execution.

The input stays ``TEXT``: its exact bytes are what the approval's SHA-256 binds, and
``jsonb`` would reorder them. Times are the gateway's injected clock (epoch seconds),
never the server's ``now()``, so expiry means the same thing as in the embedded store
and tests move time instead of sleeping. Every statement is one autocommitted round
trip; a server that cannot be reached becomes ``ApprovalsUnavailable`` (503).
"""

from __future__ import annotations

from typing import Any

from gateway.guardrails.approval_store import COLUMNS, HeldCall, move_values
from gateway.postgres import Migration, Postgres, migrate, unavailable_as
from schemas.errors import ApprovalsUnavailable

COMPONENT = "approvals"
MIGRATIONS = [
    Migration(
        1,
        "held calls",
        """
        CREATE TABLE approvals (
            id                   TEXT PRIMARY KEY,
            status               TEXT NOT NULL CHECK (status IN
                ('pending', 'executing', 'executed', 'failed', 'rejected', 'expired')),
            created_at           DOUBLE PRECISION NOT NULL,
            expires_at           DOUBLE PRECISION NOT NULL,
            request_id           TEXT NOT NULL,
            agent_id             TEXT NOT NULL,
            on_behalf_of         TEXT,
            operation            TEXT NOT NULL,
            input_json           TEXT NOT NULL,
            input_sha256         TEXT NOT NULL,
            policy_ids           JSONB NOT NULL,
            reasons              JSONB NOT NULL,
            decided_by           TEXT,
            decided_at           DOUBLE PRECISION,
            decision_reason      TEXT,
            result_json          TEXT,
            error_json           TEXT,
            execution_request_id TEXT
        );
        CREATE INDEX approvals_by_status ON approvals (status, created_at);
        CREATE INDEX approvals_by_age ON approvals (created_at);
        """,
    ),
    Migration(
        2,
        "what a held call would do, worked out when it was held",
        "ALTER TABLE approvals ADD COLUMN preview_json TEXT",
    ),
]
_JSONB = frozenset({"policy_ids", "reasons"})
_SELECT = f"SELECT {', '.join(COLUMNS)} FROM approvals"  # noqa: S608 - constant columns
_INSERT = "INSERT INTO approvals ({}) VALUES ({})".format(  # noqa: S608 - constant columns
    ", ".join(COLUMNS),
    ", ".join(f"${n}::jsonb" if c in _JSONB else f"${n}" for n, c in enumerate(COLUMNS, 1)),
)
_UNREACHABLE = "The approvals store (PostgreSQL) cannot be reached; nothing was held or decided."


class PostgresHeldCallStore:
    """Held calls in the fleet's database, through the process's one pool."""

    def __init__(self, postgres: Postgres) -> None:
        self._postgres = postgres

    async def open(self) -> None:
        """Bring the schema up to date (the pool was opened before any store)."""
        with unavailable_as(ApprovalsUnavailable, _UNREACHABLE):
            await migrate(self._postgres.pool, COMPONENT, MIGRATIONS)

    async def close(self) -> None:
        """Nothing of its own to close: the pool belongs to the application."""

    async def add(self, held: HeldCall) -> None:
        with unavailable_as(ApprovalsUnavailable, _UNREACHABLE):
            await self._postgres.pool.execute(_INSERT, *held.row())

    async def get(self, approval_id: str) -> HeldCall | None:
        with unavailable_as(ApprovalsUnavailable, _UNREACHABLE):
            row = await self._postgres.pool.fetchrow(_SELECT + " WHERE id = $1", approval_id)
        return HeldCall.from_row(tuple(row)) if row is not None else None

    async def find(self, status: str | None, limit: int = 100) -> list[HeldCall]:
        with unavailable_as(ApprovalsUnavailable, _UNREACHABLE):
            if status is None:
                rows = await self._postgres.pool.fetch(
                    _SELECT + " ORDER BY created_at, id LIMIT $1", limit
                )
            else:
                rows = await self._postgres.pool.fetch(
                    _SELECT + " WHERE status = $1 ORDER BY created_at, id LIMIT $2",
                    status,
                    limit,
                )
        return [HeldCall.from_row(tuple(row)) for row in rows]

    async def move(self, approval_id: str, source: str, target: str, **values: Any) -> bool:
        """Move from ``source`` to ``target`` status, setting ``values``; False if the call
        was no longer in ``source`` (another approver or process moved it first)."""
        columns = move_values(values)
        sets = ", ".join(["status = $1", *(f"{name} = ${n}" for n, name in enumerate(columns, 2))])
        last = len(columns) + 2
        sql = f"UPDATE approvals SET {sets} WHERE id = ${last} AND status = ${last + 1}"  # noqa: S608 - names checked by move_values
        with unavailable_as(ApprovalsUnavailable, _UNREACHABLE):
            done = await self._postgres.pool.execute(
                sql, target, *columns.values(), approval_id, source
            )
        return bool(done == "UPDATE 1")

    async def count_pending(self) -> int:
        with unavailable_as(ApprovalsUnavailable, _UNREACHABLE):
            count = await self._postgres.pool.fetchval(
                "SELECT COUNT(*) FROM approvals WHERE status = 'pending'"
            )
        return int(count)
