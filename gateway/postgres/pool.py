"""The process's one pool of PostgreSQL connections.

Every connection gets the configured ``statement_timeout`` so a server that accepts
but never answers cannot hang a call; connects are bounded by ``connect_timeout``.
The pool opens lazily-tolerant: :func:`open_pool` fails start-up loudly if the server
cannot be reached at all, which is what an operator wants from a misconfigured DSN.
"""

from __future__ import annotations

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gateway.config.fleet import PostgresConfig

PostgresPool = asyncpg.Pool
AnyConnection = asyncpg.Connection | PoolConnectionProxy
"""A connection of its own or one borrowed from the pool: both run the same queries."""


async def open_pool(config: PostgresConfig) -> PostgresPool:
    timeout_ms = int(config.statement_timeout * 1000)
    pool = await asyncpg.create_pool(
        dsn=config.dsn.get_secret_value(),
        min_size=min(config.pool_min, config.pool_max),
        max_size=config.pool_max,
        timeout=config.connect_timeout,
        command_timeout=config.statement_timeout + 1.0,
        server_settings={
            "statement_timeout": str(timeout_ms),
            "application_name": "lastmile",
        },
    )
    assert pool is not None  # noqa: S101 - create_pool only returns None when not awaited
    return pool


async def connect(config: PostgresConfig) -> asyncpg.Connection:
    """A connection of its own, outside the pool (for ``LISTEN``)."""
    connection: asyncpg.Connection = await asyncpg.connect(
        dsn=config.dsn.get_secret_value(),
        timeout=config.connect_timeout,
        command_timeout=config.statement_timeout + 1.0,
        server_settings={"application_name": "lastmile-listener"},
    )
    return connection


class Postgres:
    """The process's handle on the shared database: built with the app, opened in its
    first cleanup context (before any store opens) and closed last."""

    def __init__(self, config: PostgresConfig) -> None:
        self.config = config
        self._pool: PostgresPool | None = None

    async def open(self) -> None:
        self._pool = await open_pool(self.config)

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    @property
    def pool(self) -> PostgresPool:
        if self._pool is None:
            raise RuntimeError("the PostgreSQL pool is not open")
        return self._pool

    async def listener(self) -> asyncpg.Connection:
        """A connection outside the pool, for ``LISTEN`` (it must stay checked out)."""
        return await connect(self.config)
