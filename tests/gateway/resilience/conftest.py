"""A gateway with a resilience section of the test's choosing, time the test moves, and
the sandbox's counters."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.resilience.timing import Timing
from tests.conftest import TEST_CONFIG, Gateway, make_config

STOCK = {"material": "100234", "plant": "1000"}
RECEIPT = {
    "material": "100234",
    "plant": "1000",
    "kind": "receipt",
    "quantity": "5",
    "posting_date": "2026-11-26",
}
CREATE = "warehouse.goods_movements.create"


class FakeTime:
    """A clock and a sleep that tests move by hand; sleeping advances the clock at once."""

    def __init__(self) -> None:
        self.now = 1_000_000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        await asyncio.sleep(0)

    @property
    def timing(self) -> Timing:
        return Timing(self.clock, self.sleep)


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


async def sandbox_stats(server: TestServer) -> dict[str, int]:
    async with ClientSession() as http:
        response = await http.get(server.make_url("/_sandbox/stats"))
        return dict(await response.json())


async def sandbox_post(server: TestServer, path: str, body: dict[str, Any]) -> None:
    async with ClientSession() as http:
        response = await http.post(server.make_url(path), json=body)
        assert response.status == 200


GatewayFactory = Callable[..., Awaitable[Gateway]]


@pytest.fixture
async def gateway_with(
    wms: TestServer, tmp_path: Path, fake_time: FakeTime, log_stream: io.StringIO
) -> AsyncIterator[GatewayFactory]:
    """``await gateway_with(yaml)``: a gateway whose config is the test config plus ``yaml``
    (a ``resilience:`` and/or ``state:`` section), on the fake time."""
    clients: list[TestClient[Any, Any]] = []

    async def start(extra: str, text: str = TEST_CONFIG, **env: str) -> Gateway:
        audit_db = tmp_path / f"audit{len(clients)}.sqlite"
        config = make_config(str(wms.make_url("/")).rstrip("/"), audit_db, text + extra, **env)
        client: TestClient[Any, Any] = TestClient(
            TestServer(build_app(config, timing=fake_time.timing), host="127.0.0.1")
        )
        await client.start_server()
        clients.append(client)
        return Gateway(client, wms, audit_db)

    yield start
    for client in clients:
        await client.close()
