"""Migrations: applied once in order, concurrently safe, and a newer schema refused."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from gateway.postgres import Migration, migrate
from gateway.postgres.migrations import SchemaTooNew
from tests.postgres_db import postgres_dsn

__all__ = ["postgres_dsn"]

STEPS = [
    Migration(1, "create", "CREATE TABLE things (id INTEGER PRIMARY KEY)"),
    Migration(2, "add name", "ALTER TABLE things ADD COLUMN name TEXT"),
]


async def test_migrations_apply_once_even_when_processes_start_together(postgres_dsn: str) -> None:
    pools = [await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=2) for _ in range(3)]
    try:
        results = await asyncio.gather(*(migrate(p, "things", STEPS) for p in pools))
        assert sorted(results) == [[], [], [1, 2]]
        again = await migrate(pools[0], "things", STEPS)
        assert again == []
        columns = await pools[0].fetch(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'things'"
        )
        assert {c["column_name"] for c in columns} == {"id", "name"}
    finally:
        for pool in pools:
            await pool.close()


async def test_a_schema_newer_than_the_code_is_refused(postgres_dsn: str) -> None:
    pool = await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=1)
    try:
        await migrate(pool, "things", STEPS)
        with pytest.raises(SchemaTooNew, match="version 2"):
            await migrate(pool, "things", STEPS[:1])
    finally:
        await pool.close()


async def test_migrations_must_be_numbered_in_order(postgres_dsn: str) -> None:
    pool = await asyncpg.create_pool(postgres_dsn, min_size=1, max_size=1)
    try:
        with pytest.raises(ValueError, match="numbered"):
            await migrate(pool, "things", [STEPS[1]])
    finally:
        await pool.close()
