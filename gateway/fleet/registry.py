"""The registry of gateway processes: who is running, who is lost, who confirmed what.

Each process registers at start, heartbeats every ``fleet.heartbeat_every`` and marks
itself stopped at a clean shutdown. Liveness is judged on the database's clock (a
heartbeat older than ``fleet.lost_after`` means lost), so hosts' clocks never matter.
A process also records the version of the halts it has in force: a halt is
acknowledged when every live process has confirmed a version at least as new. The same
goes for the configuration: ``config_version`` is the version in force, and a process
that could not adopt a newer one records which (``config_refused_version``) and why
(``config_error``). With each heartbeat a process also reports its circuit breakers'
states and its bulkheads' depth (``resilience``, JSON), which live in its own memory:
the console shows every process's from here, never guessing from its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog

from gateway.config.fleet import FleetConfig
from gateway.postgres import Migration, Postgres, migrate, unavailable_as
from gateway.postgres.errors import POSTGRES_FAILURES
from gateway.postgres.pool import AnyConnection
from gateway.version import installed_version
from schemas.errors import StateUnavailable

log = structlog.get_logger("lastmile.fleet")

ACKS_CHANNEL = "lastmile_halt_acks"
CONFIG_ACKS_CHANNEL = "lastmile_config_acks"

MIGRATIONS = [
    Migration(
        1,
        "processes",
        """
        CREATE TABLE lastmile_processes (
            name           TEXT PRIMARY KEY,
            host           TEXT NOT NULL,
            pid            INTEGER NOT NULL,
            version        TEXT NOT NULL,
            started_at     TIMESTAMPTZ NOT NULL,
            heartbeat_at   TIMESTAMPTZ NOT NULL,
            stopped_at     TIMESTAMPTZ,
            halts_version  BIGINT NOT NULL DEFAULT 0
        )
        """,
    ),
    Migration(
        2,
        "config versions",
        """
        ALTER TABLE lastmile_processes
            ADD COLUMN config_version BIGINT NOT NULL DEFAULT 0,
            ADD COLUMN config_refused_version BIGINT NOT NULL DEFAULT 0,
            ADD COLUMN config_error TEXT
        """,
    ),
    Migration(
        3,
        "resilience reports",
        "ALTER TABLE lastmile_processes ADD COLUMN resilience JSONB",
    ),
]

Report = Callable[[], Mapping[str, Any]]
"""What a process reports with its heartbeat: ``{"breakers": ..., "bulkheads": ...}``."""

_STATUS = """
    CASE WHEN stopped_at IS NOT NULL THEN 'stopped'
         WHEN heartbeat_at < now() - make_interval(secs => $1) THEN 'lost'
         ELSE 'live' END
"""


@dataclass(frozen=True, slots=True)
class ProcessRecord:
    name: str
    host: str
    pid: int
    version: str
    status: str  # live | lost | stopped
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None
    halts_version: int
    config_version: int = 0
    config_refused_version: int = 0
    config_error: str | None = None
    resilience: dict[str, Any] = field(default_factory=dict)

    @property
    def breakers(self) -> dict[str, str]:
        """Backend name to breaker state, as of the last heartbeat."""
        return dict(self.resilience.get("breakers", {}))

    @property
    def bulkheads(self) -> dict[str, dict[str, int]]:
        """Backend name to ``{"in_flight": n, "waiting": n}``, as of the last heartbeat."""
        return dict(self.resilience.get("bulkheads", {}))

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "host": self.host,
            "pid": self.pid,
            "version": self.version,
            "status": self.status,
            "started_at": self.started_at.isoformat(),
            "heartbeat_at": self.heartbeat_at.isoformat(),
            "stopped_at": self.stopped_at.isoformat() if self.stopped_at else None,
            "halts_version": self.halts_version,
            "config_version": self.config_version,
            "config_error": self.config_error,
            "breakers": self.breakers,
            "bulkheads": self.bulkheads,
        }


def default_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


class ProcessRegistry:
    """``report``: what this process sends with each heartbeat (its resilience state)."""

    def __init__(
        self, postgres: Postgres, config: FleetConfig, report: Report | None = None
    ) -> None:
        self._postgres = postgres
        self._config = config
        self._report = report or dict
        self.name = config.name or default_name()
        self._heartbeat: asyncio.Task[None] | None = None

    async def open(self) -> None:
        """Register (a process restarted under the same name takes its row back)."""
        pool = self._postgres.pool
        await migrate(pool, "registry", MIGRATIONS)
        await pool.execute(
            """
            INSERT INTO lastmile_processes
                (name, host, pid, version, started_at, heartbeat_at, resilience)
            VALUES ($1, $2, $3, $4, now(), now(), $5::jsonb)
            ON CONFLICT (name) DO UPDATE SET host = $2, pid = $3, version = $4,
                started_at = now(), heartbeat_at = now(), stopped_at = NULL, halts_version = 0,
                config_version = 0, config_refused_version = 0, config_error = NULL,
                resilience = $5::jsonb
            """,
            self.name,
            socket.gethostname(),
            os.getpid(),
            installed_version(),
            self._reported(),
        )
        self._heartbeat = asyncio.create_task(self._beat(), name="fleet-heartbeat")
        log.info("fleet_registered", process=self.name)

    async def close(self) -> None:
        if self._heartbeat is not None:
            self._heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat
        with contextlib.suppress(*POSTGRES_FAILURES):  # a lost process is marked so later
            await self._postgres.pool.execute(
                "UPDATE lastmile_processes SET stopped_at = now() WHERE name = $1", self.name
            )

    async def _beat(self) -> None:
        while True:
            await asyncio.sleep(self._config.heartbeat_every)
            try:
                await self._postgres.pool.execute(
                    "UPDATE lastmile_processes SET heartbeat_at = now(), resilience = $2::jsonb "
                    "WHERE name = $1 AND stopped_at IS NULL",
                    self.name,
                    self._reported(),
                )
            except POSTGRES_FAILURES as exc:
                log.warning("fleet_heartbeat_failed", process=self.name, error=type(exc).__name__)

    def _reported(self) -> str:
        return json.dumps(self._report(), sort_keys=True)

    async def confirm_halts(self, connection: AnyConnection, version: int) -> None:
        """Record that this process has halts ``version`` in force, and tell the waiters."""
        await connection.execute(
            """
            WITH confirmed AS (
                UPDATE lastmile_processes SET halts_version = GREATEST(halts_version, $2),
                    heartbeat_at = now()
                WHERE name = $1 RETURNING name
            )
            SELECT pg_notify($3, $1) FROM confirmed
            """,
            self.name,
            version,
            ACKS_CHANNEL,
        )

    async def confirm_config(self, connection: AnyConnection, version: int) -> None:
        """Record that this process has configuration ``version`` in force; tell waiters."""
        await connection.execute(
            """
            WITH confirmed AS (
                UPDATE lastmile_processes SET config_version = $2, config_error = NULL
                WHERE name = $1 RETURNING name
            )
            SELECT pg_notify($3, $1) FROM confirmed
            """,
            self.name,
            version,
            CONFIG_ACKS_CHANNEL,
        )

    async def refuse_config(self, connection: AnyConnection, version: int, reason: str) -> None:
        """Record that this process could not adopt ``version``, and why; tell waiters."""
        await connection.execute(
            """
            WITH refused AS (
                UPDATE lastmile_processes SET config_refused_version = $2, config_error = $3
                WHERE name = $1 RETURNING name
            )
            SELECT pg_notify($4, $1) FROM refused
            """,
            self.name,
            version,
            reason,
            CONFIG_ACKS_CHANNEL,
        )

    async def processes(self) -> list[ProcessRecord]:
        """Every process that ever registered, newest first, with its status now."""
        with unavailable_as(StateUnavailable, "The process registry cannot be read."):
            rows = await self._postgres.pool.fetch(
                f"SELECT *, {_STATUS} AS status FROM lastmile_processes "  # noqa: S608 - constant
                "ORDER BY started_at DESC",
                self._config.lost_after,
            )
        return [_record(dict(row)) for row in rows]

    async def live(self) -> list[ProcessRecord]:
        return [p for p in await self.processes() if p.status == "live"]


def _record(row: dict[str, Any]) -> ProcessRecord:
    reported = row.pop("resilience", None)
    return ProcessRecord(**row, resilience=json.loads(reported) if reported else {})
