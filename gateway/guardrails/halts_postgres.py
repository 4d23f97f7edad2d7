"""Halts with PostgreSQL as the source of truth, pushed to every process.

Each halt or resume is one transaction: the row changes, the version counter moves on and
``NOTIFY lastmile_halts`` tells every process. Each process keeps a last-known copy and
checks calls against it without a round trip. The copy is refreshed on every
notification and, in case one is lost, by a poll every ``guardrails.halts.poll_every``
over the same connection; each successful refresh (changed or not) confirms the copy
fresh. A copy not confirmed within ``fresh_within`` admits nothing
(``halt_state_unknown``): halts never fail open.

After a refresh that changed the version, the process records it in the registry and
notifies ``lastmile_halt_acks``, which is how the process that placed a halt learns that
every live process has it in force.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import asyncpg
import structlog

from gateway.config.guardrails import HaltsConfig
from gateway.fleet.registry import ACKS_CHANNEL, ProcessRegistry
from gateway.guardrails.halts import (
    Acknowledgement,
    Halt,
    HaltScope,
    candidate_ids,
    new_halt,
)
from gateway.postgres import Migration, Postgres, migrate, unavailable_as
from gateway.postgres.follower import Follower
from gateway.postgres.pool import AnyConnection
from schemas.errors import HaltStateUnknown, StateUnavailable

log = structlog.get_logger("lastmile.halts")

CHANGES_CHANNEL = "lastmile_halts"

MIGRATIONS = [
    Migration(
        1,
        "halts",
        """
        CREATE TABLE lastmile_halts (
            id        TEXT PRIMARY KEY,
            scope     TEXT NOT NULL,
            target    TEXT NOT NULL,
            reason    TEXT NOT NULL,
            operator  TEXT NOT NULL,
            since     TEXT NOT NULL
        );
        CREATE TABLE lastmile_halts_version (
            one      BOOLEAN PRIMARY KEY DEFAULT TRUE CHECK (one),
            version  BIGINT NOT NULL
        );
        INSERT INTO lastmile_halts_version (version) VALUES (0);
        """,
    )
]

_BUMP = """
    WITH bumped AS (
        UPDATE lastmile_halts_version SET version = version + 1 RETURNING version
    )
    SELECT version, pg_notify($1, version::text) FROM bumped
"""


class PostgresHaltBoard:
    def __init__(
        self,
        postgres: Postgres,
        registry: ProcessRegistry,
        config: HaltsConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._postgres = postgres
        self._registry = registry
        self._config = config
        self._clock = clock
        self._halts: dict[str, Halt] = {}
        self._version = -1
        self._confirmed_at: float | None = None
        self._written = 0  # the newest version this process wrote
        self._follower = Follower(
            postgres,
            name="halts",
            changes=CHANGES_CHANNEL,
            acks=ACKS_CHANNEL,
            poll_every=config.poll_every,
            refresh=self._refresh,
        )

    async def open(self) -> None:
        await migrate(self._postgres.pool, "halts", MIGRATIONS)
        async with self._postgres.pool.acquire() as connection:
            await self._refresh(connection)
        self._follower.start()

    async def close(self) -> None:
        await self._follower.close()

    # -- the operators' side ----------------------------------------------------------

    async def halt(self, scope: HaltScope, target: str, reason: str, operator: str) -> Halt:
        halt = new_halt(scope, target, reason, operator)
        with unavailable_as(StateUnavailable, "The halt could not be recorded in PostgreSQL."):
            async with self._postgres.pool.acquire() as connection:
                async with connection.transaction():
                    await connection.execute(
                        """
                        INSERT INTO lastmile_halts (id, scope, target, reason, operator, since)
                        VALUES ($1, $2, $3, $4, $5, $6)
                        ON CONFLICT (id) DO UPDATE SET reason = $4, operator = $5, since = $6
                        """,
                        halt.id,
                        halt.scope.value,
                        halt.target,
                        halt.reason,
                        halt.operator,
                        halt.since,
                    )
                    version = await connection.fetchval(_BUMP, CHANGES_CHANNEL)
                self._written = max(self._written, version)
                await self._refresh(connection)
        return halt

    async def resume(self, halt_id_: str) -> Halt | None:
        with unavailable_as(StateUnavailable, "The resume could not be recorded in PostgreSQL."):
            async with self._postgres.pool.acquire() as connection:
                async with connection.transaction():
                    row = await connection.fetchrow(
                        "DELETE FROM lastmile_halts WHERE id = $1 RETURNING *", halt_id_
                    )
                    if row is None:
                        return None
                    version = await connection.fetchval(_BUMP, CHANGES_CHANNEL)
                self._written = max(self._written, version)
                await self._refresh(connection)
        return _halt(row)

    async def all(self) -> list[Halt]:
        self._require_fresh()
        return sorted(self._halts.values(), key=lambda h: h.id)

    async def acknowledge(self, within_s: float) -> Acknowledgement:
        version = self._written
        deadline = self._clock() + within_s
        while True:
            acks = self._follower.next_ack()
            live = await self._registry.live()
            confirmed = sorted(p.name for p in live if p.halts_version >= version)
            pending = sorted(p.name for p in live if p.halts_version < version)
            remaining = deadline - self._clock()
            if not pending or remaining <= 0:
                return Acknowledgement(version, not pending, confirmed, pending)
            with contextlib.suppress(TimeoutError):
                # an ack wakes us at once; the poll covers an ack notification lost
                await asyncio.wait_for(acks.wait(), min(remaining, self._config.poll_every))

    # -- the calls' side ------------------------------------------------------------

    async def check(self, agent_id: str, backend: str | None, operation: str) -> Halt | None:
        self._require_fresh()
        for candidate in candidate_ids(agent_id, backend, operation):
            halt = self._halts.get(candidate)
            if halt is not None:
                return halt
        return None

    def fresh(self) -> bool:
        confirmed = self._confirmed_at
        return confirmed is not None and self._clock() - confirmed <= self._config.fresh_within

    def _require_fresh(self) -> None:
        if not self.fresh():
            raise HaltStateUnknown(
                "This gateway process cannot confirm the current halts with PostgreSQL, so it "
                "admits no call; retry shortly or through another process."
            )

    # -- following the source of truth -----------------------------------------------

    async def _refresh(self, connection: AnyConnection) -> None:
        """Read the version; reload the halts if it moved; confirm the copy fresh."""
        timeout = max(self._config.poll_every, 1.0)
        version = await connection.fetchval(
            "SELECT version FROM lastmile_halts_version", timeout=timeout
        )
        if version != self._version:
            async with connection.transaction(isolation="repeatable_read", readonly=True):
                version = await connection.fetchval("SELECT version FROM lastmile_halts_version")
                rows = await connection.fetch("SELECT * FROM lastmile_halts")
            self._halts = {row["id"]: _halt(row) for row in rows}
            self._version = version
            await self._registry.confirm_halts(connection, version)
        self._confirmed_at = self._clock()


def _halt(row: asyncpg.Record) -> Halt:
    return Halt(
        id=row["id"],
        scope=HaltScope(row["scope"]),
        target=row["target"],
        reason=row["reason"],
        operator=row["operator"],
        since=row["since"],
    )
