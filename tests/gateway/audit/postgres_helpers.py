"""PostgreSQL audit stores on a test database: the handle, a store as one writer, and a
snapshot read the way ``lastmile audit verify`` reads it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from pydantic import SecretStr

from gateway.audit import pg_log
from gateway.audit.signing import CheckpointSigner
from gateway.audit.sqlite_log import StoredEntry
from gateway.audit.store_postgres import PostgresAuditStore
from gateway.audit.verify import LogSnapshot, Report, verify_log
from gateway.config.fleet import PostgresConfig
from gateway.postgres import Postgres


def postgres_config(dsn: str, **overrides: float) -> PostgresConfig:
    """Built without validation: config insists on ``${ENV}`` for the DSN secret."""
    return PostgresConfig.model_construct(dsn=SecretStr(dsn), pool_min=0, pool_max=4, **overrides)


@asynccontextmanager
async def postgres(dsn: str, **overrides: float) -> AsyncIterator[Postgres]:
    handle = Postgres(postgres_config(dsn, **overrides))
    await handle.open()
    try:
        yield handle
    finally:
        await handle.close()


@asynccontextmanager
async def pg_store(
    handle: Postgres, key: CheckpointSigner, *, writer: str = "test:1", every: int = 1000
) -> AsyncIterator[PostgresAuditStore]:
    store = PostgresAuditStore(handle, key, writer=writer, checkpoint_every_events=every)
    await store.open()
    try:
        yield store
    finally:
        await store.close()


async def read_all(handle: Postgres) -> LogSnapshot:
    """The whole log in memory (small logs)."""
    async with pg_log.snapshot(handle.pool) as snapshot:
        loop = asyncio.get_running_loop()
        entries: list[StoredEntry] = await loop.run_in_executor(None, list, snapshot.entries)
        return LogSnapshot(snapshot.anchor, entries, snapshot.checkpoints)


async def verify_pg(handle: Postgres, key: CheckpointSigner) -> Report:
    return verify_log(await read_all(handle), [key.public_key])
