"""Versioned schema migrations, one numbered list per component.

Each component (``audit``, ``approvals``, ``halts``, ``registry`` ...) declares its
:class:`Migration` list; :func:`migrate` applies the missing ones in order, in one
transaction, under an advisory lock so several processes starting at once apply each
exactly once. A database that has a version this code does not know (a newer lastmile
ran) is refused instead of being written with an older idea of its schema.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import asyncpg

_LOCK_KEY = 0x6C6D_6D69  # "lmmi": one advisory lock for every migration run
_LEDGER = """
CREATE TABLE IF NOT EXISTS lastmile_migrations (
    component  TEXT NOT NULL,
    version    INTEGER NOT NULL,
    name       TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (component, version)
)
"""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer lastmile than this one."""


async def migrate(pool: asyncpg.Pool, component: str, migrations: Sequence[Migration]) -> list[int]:
    """Apply ``migrations`` not yet applied for ``component``; return the versions applied."""
    versions = [m.version for m in migrations]
    if versions != list(range(1, len(versions) + 1)):
        raise ValueError(f"{component}: migrations must be numbered 1, 2, 3 ... in order")
    applied: list[int] = []
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("SELECT pg_advisory_xact_lock($1)", _LOCK_KEY)
        await connection.execute(_LEDGER)
        done = await connection.fetchval(
            "SELECT COALESCE(MAX(version), 0) FROM lastmile_migrations WHERE component = $1",
            component,
        )
        if done > len(migrations):
            raise SchemaTooNew(
                f"the {component} schema is at version {done}, newer than this lastmile "
                f"knows ({len(migrations)}); upgrade lastmile"
            )
        for migration in migrations[done:]:
            await connection.execute(migration.sql)
            await connection.execute(
                "INSERT INTO lastmile_migrations (component, version, name) VALUES ($1, $2, $3)",
                component,
                migration.version,
                migration.name,
            )
            applied.append(migration.version)
    return applied
