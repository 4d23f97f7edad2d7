"""A private ``redis-server`` on a free port, for tests that read server-wide counters
(``INFO commandstats``) the shared server's other users would disturb."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from tests.test_cli_processes import free_port


@pytest.fixture
async def private_redis() -> AsyncIterator[str]:
    """The URL of a fresh, empty Redis (no persistence) that lives for one test."""
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("LASTMILE_REQUIRE_SERVICES") == "1":
            raise RuntimeError("redis-server is not installed")
        pytest.skip("redis-server is not installed (LASTMILE_REQUIRE_SERVICES unset)")
    port = free_port()
    process = subprocess.Popen(  # noqa: S603, ASYNC220 - fixed arguments; returns at once
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    client = Redis.from_url(url)
    try:
        for _ in range(200):  # bounded: up to ~10 s for the server to accept connections
            try:
                await client.ping()
                break
            except (RedisConnectionError, OSError):
                if process.poll() is not None:
                    raise RuntimeError(f"redis-server exited with {process.returncode}") from None
            await asyncio.sleep(0.05)
        else:
            raise RuntimeError("redis-server did not accept connections within 10 s")
        yield url
    finally:
        await client.aclose()
        process.terminate()
        process.wait(timeout=10)


async def command_calls(url: str) -> dict[str, int]:
    """Successful calls per command (commands run inside scripts included)."""
    client = Redis.from_url(url)
    try:
        stats = await client.info("commandstats")
    finally:
        await client.aclose()
    return {
        name.removeprefix("cmdstat_"): int(row["calls"]) - int(row.get("failed_calls", 0))
        for name, row in stats.items()
    }


async def reset_command_calls(url: str) -> None:
    client = Redis.from_url(url)
    try:
        await client.config_resetstat()
    finally:
        await client.aclose()
