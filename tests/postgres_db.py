"""A database of its own on the machine's PostgreSQL for each test that asks for one.

Tests need a server at 127.0.0.1:5432 (trust auth, user ``postgres``); they skip without
one, unless ``LASTMILE_REQUIRE_SERVICES=1`` (as in CI), where its absence fails them.
Each database is created fresh and dropped (``WITH (FORCE)``) afterwards, so tests never
see each other's rows and may run processes against it.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

SERVER_DSN = os.environ.get("LASTMILE_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


def dsn_for(database: str) -> str:
    base, _, _ = SERVER_DSN.rpartition("/")
    return f"{base}/{database}"


async def _server() -> asyncpg.Connection:
    try:
        connection: asyncpg.Connection = await asyncpg.connect(SERVER_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError) as exc:
        if os.environ.get("LASTMILE_REQUIRE_SERVICES") == "1":
            raise
        pytest.skip(
            f"PostgreSQL is not reachable at {SERVER_DSN} ({exc.__class__.__name__}; "
            "LASTMILE_REQUIRE_SERVICES unset)"
        )
    return connection


@pytest.fixture
async def postgres_dsn() -> AsyncIterator[str]:
    """The DSN of a new, empty database, dropped when the test ends."""
    name = f"lastmile_t_{uuid.uuid4().hex[:16]}"
    server = await _server()
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    yield dsn_for(name)
    server = await _server()
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()
