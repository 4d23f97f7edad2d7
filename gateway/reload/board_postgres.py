"""The fleet's configuration: versions stored in PostgreSQL, adopted by every process.

A reload is checked by the process that receives it (parse, the checks of
``check-config``, no change to a part fixed at start-up), stored as the next version
with its text as written (``${ENV}`` references, never resolved secrets) and announced
with ``NOTIFY lastmile_config``. Every process follows the newest version on a
connection of its own (notified at once; polled every ``fleet.config_poll_every`` in
case a notification is lost), compiles it with its own environment and files, and puts
it in force by one assignment, or keeps the version it has and records why it could not
in the registry. A process starting on a database that has versions adopts the newest
before it serves, or does not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import time
from collections.abc import Callable
from dataclasses import replace

import structlog

from gateway.config import ConfigError
from gateway.config.fleet import FleetConfig
from gateway.fleet.registry import CONFIG_ACKS_CHANNEL, ProcessRegistry
from gateway.guardrails.safety import scrub
from gateway.postgres import Migration, Postgres, migrate, unavailable_as
from gateway.postgres.follower import Follower
from gateway.postgres.pool import AnyConnection
from gateway.reload.board import Adoption, prepare_next
from gateway.reload.in_force import ConfigCompiler, ConfigInForce, Reloadable, ReloadRefused
from schemas.errors import StateUnavailable

log = structlog.get_logger("lastmile.config")

CHANGES_CHANNEL = "lastmile_config"

MIGRATIONS = [
    Migration(
        1,
        "config versions",
        """
        CREATE TABLE lastmile_config_versions (
            version       BIGINT PRIMARY KEY,
            text          TEXT NOT NULL,
            source        TEXT NOT NULL,
            sha256        TEXT NOT NULL,
            published_by  TEXT NOT NULL,
            published_at  TIMESTAMPTZ NOT NULL DEFAULT now()
        )
        """,
    )
]

_NEWEST = "SELECT version, text FROM lastmile_config_versions ORDER BY version DESC LIMIT 1"
_LOCK_KEY = 0x6C6D_6366  # "lmcf": one publisher at a time numbers the next version


class PostgresConfigBoard:
    def __init__(
        self,
        postgres: Postgres,
        registry: ProcessRegistry,
        in_force: ConfigInForce,
        compiler: ConfigCompiler,
        config: FleetConfig,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._postgres = postgres
        self._registry = registry
        self._in_force = in_force
        self._compiler = compiler
        self._config = config
        self._clock = clock
        self._error: tuple[int, str] | None = None  # the newest version refused, and why
        self._follower = Follower(
            postgres,
            name="config",
            changes=CHANGES_CHANNEL,
            acks=CONFIG_ACKS_CHANNEL,
            poll_every=config.config_poll_every,
            refresh=self._refresh,
        )
        self._adopting = asyncio.Lock()

    async def open(self) -> None:
        """Adopt the newest stored version before serving; refuse to start if it cannot
        be (a process must not serve agents the fleet has revoked)."""
        await migrate(self._postgres.pool, "config", MIGRATIONS)
        async with self._postgres.pool.acquire() as connection:
            await self._refresh(connection)
        if self._error is not None:
            version, reason = self._error
            raise ConfigError(f"config version {version}", reason.split("; "))
        self._follower.start()

    async def close(self) -> None:
        await self._follower.close()

    def error(self) -> str | None:
        return None if self._error is None else f"version {self._error[0]}: {self._error[1]}"

    # -- the operators' side ----------------------------------------------------------

    async def publish(self, text: str | None, source: str) -> Reloadable:
        current = self._in_force.current
        if text is None:
            text = current.text
        if text is None:
            raise ReloadRefused(
                [
                    "this process does not know the text of its configuration: send one "
                    "(lastmile reload --config FILE)"
                ]
            )
        checked = await asyncio.to_thread(
            prepare_next, self._compiler, current, text, source, current.version + 1
        )
        digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
        with unavailable_as(StateUnavailable, "The configuration could not be stored."):
            async with self._postgres.pool.acquire() as connection:
                async with connection.transaction():
                    await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
                    version = await connection.fetchval(
                        """
                        INSERT INTO lastmile_config_versions
                            (version, text, source, sha256, published_by)
                        SELECT COALESCE(MAX(version), 0) + 1, $1, $2, $3, $4
                        FROM lastmile_config_versions
                        RETURNING version
                        """,
                        text,
                        source,
                        digest,
                        self._registry.name,
                    )
                    await connection.execute(
                        "SELECT pg_notify($1, $2)", CHANGES_CHANNEL, str(version)
                    )
                await self._put_in_force(connection, version, checked)
        return self._in_force.current

    async def adoption(self, version: int, within_s: float) -> Adoption:
        deadline = self._clock() + within_s
        while True:
            acks = self._follower.next_ack()
            live = await self._registry.live()
            confirmed = sorted(p.name for p in live if p.config_version >= version)
            refused = {
                p.name: p.config_error or "refused"
                for p in live
                if p.config_version < version <= p.config_refused_version
            }
            pending = [p.name for p in live if p.config_version < version]
            silent = [name for name in pending if name not in refused]
            remaining = deadline - self._clock()
            if not silent or remaining <= 0:
                return Adoption(version, confirmed, sorted(pending), refused)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(acks.wait(), min(remaining, self._config.config_poll_every))

    # -- following the newest version -------------------------------------------------

    async def _refresh(self, connection: AnyConnection) -> None:
        """Adopt the newest version if it is newer than the one in force."""
        timeout = max(self._config.config_poll_every, 1.0)
        row = await connection.fetchrow(_NEWEST, timeout=timeout)
        if row is None or row["version"] <= self._in_force.current.version:
            return
        version, text = row["version"], row["text"]
        try:
            snapshot = await asyncio.to_thread(
                self._compiler.prepare,
                self._in_force.current.config,
                text,
                version,
                source=f"config version {version}",
                strict=False,
            )
        except ReloadRefused as exc:
            await self._refused(connection, version, "; ".join(exc.problems))
            return
        except Exception as exc:  # a bug must not stop the follower: report it, keep going
            log.exception("config_adoption_failed", version=version)
            await self._refused(connection, version, scrub(f"{type(exc).__name__}: {exc}"))
            return
        await self._put_in_force(connection, version, snapshot)

    async def _refused(self, connection: AnyConnection, version: int, reason: str) -> None:
        """Keep the version in force; say once (per version and reason) why not."""
        if self._error != (version, reason):
            self._error = (version, reason)
            log.warning("config_not_adopted", version=version, reason=reason)
            await self._registry.refuse_config(connection, version, reason)

    async def _put_in_force(
        self, connection: AnyConnection, version: int, snapshot: Reloadable
    ) -> None:
        async with self._adopting:
            if version <= self._in_force.current.version:
                return  # a newer one is in force already (two reloads crossed)
            self._in_force.current = _numbered(snapshot, version)
            self._error = None
        log.info("config_adopted", version=version)
        await self._registry.confirm_config(connection, version)


def _numbered(snapshot: Reloadable, version: int) -> Reloadable:
    return replace(snapshot, version=version)
