"""Bulkheads keep each backend within its concurrency under overload, and apart from the
others; circuit breakers open after repeated failures and recover through half-open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestServer

from sandbox import acme_warehouse
from tests.conftest import REPLENISH, TEST_CONFIG
from tests.gateway.resilience.conftest import (
    STOCK,
    FakeTime,
    GatewayFactory,
    sandbox_post,
    sandbox_stats,
)

BULKHEAD = """
resilience:
  backends:
    acme_wms:
      bulkhead: {max_concurrent: 2, max_queue: 2, queue_timeout_s: 60}
"""


async def test_a_10x_burst_never_exceeds_the_backends_concurrency(
    gateway_with: GatewayFactory,
) -> None:
    gateway = await gateway_with(BULKHEAD)
    await sandbox_post(gateway.wms, "/_sandbox/faults", {"mode": "hold"})
    burst = [asyncio.create_task(gateway.invoke("warehouse.stock.get", STOCK)) for _ in range(20)]

    shed: list[Any] = []
    for finished in asyncio.as_completed(burst):  # 2 held, 2 queued: 16 answered at once
        shed.append(await finished)
        if len(shed) == 16:
            break
    for response in shed:
        assert response.status == 503
        assert (await response.json())["code"] == "backend_busy"
        assert response.headers["Retry-After"] == "1"

    await sandbox_post(gateway.wms, "/_sandbox/release", {})
    served = [r for r in await asyncio.gather(*burst) if r.status == 200]
    assert len(served) == 4
    stats = await sandbox_stats(gateway.wms)
    assert stats["max_in_flight"] == 2
    assert stats["api_calls"] == 4


@pytest.fixture
async def eu_wms(tmp_path: Path) -> AsyncIterator[TestServer]:
    server = TestServer(acme_warehouse.create_app(tmp_path / "eu.sqlite"), host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


TWO_BACKENDS = TEST_CONFIG.replace(
    "agents:",
    """  eu_wms:
    kind: rest
    adapter: tests.gateway.resilience.second_wms
    base_url: ${EU_WMS_URL}
    timeouts: {connect_s: 1, read_s: 1, total_s: 0.5}
agents:""",
    1,
)


async def test_a_slow_backend_does_not_slow_calls_to_another(
    gateway_with: GatewayFactory, eu_wms: TestServer
) -> None:
    eu_url = str(eu_wms.make_url("/")).rstrip("/")
    gateway = await gateway_with(
        BULKHEAD.replace("max_queue: 2", "max_queue: 0"),
        TWO_BACKENDS,
        EU_WMS_URL=eu_url,
    )
    await sandbox_post(gateway.wms, "/_sandbox/faults", {"mode": "hold"})
    stuck = [
        asyncio.create_task(gateway.invoke("warehouse.stock.get", STOCK, REPLENISH))
        for _ in range(2)
    ]
    await gateway.wms.app[acme_warehouse.STATS].wait_for_in_flight(2)

    full = await gateway.invoke("warehouse.stock.get", STOCK, REPLENISH)
    assert full.status == 503  # the slow backend's bulkhead is full ...
    for _ in range(5):  # ... and the other backend answers every call meanwhile
        other = await gateway.invoke("warehouse.eu_stock.get", STOCK, REPLENISH)
        assert other.status == 200
    assert not any(task.done() for task in stuck)
    assert (await sandbox_stats(eu_wms))["api_calls"] == 5

    await sandbox_post(gateway.wms, "/_sandbox/release", {})
    assert [r.status for r in await asyncio.gather(*stuck)] == [200, 200]


BREAKER = """
resilience:
  defaults:
    retry: {attempts: 1}
    breaker: {failure_threshold: 3, recovery_s: 30}
"""


async def circuit(gateway: Any) -> str:
    ready = await gateway.client.get("/readyz")
    return str((await ready.json())["backends"][0]["circuit"])


async def test_the_breaker_opens_after_n_failures_and_recovers_through_half_open(
    gateway_with: GatewayFactory, fake_time: FakeTime
) -> None:
    gateway = await gateway_with(BREAKER)
    await gateway.fault("unavailable")
    for _ in range(3):
        failed = await gateway.invoke("warehouse.stock.get", STOCK)
        assert failed.status == 503
    assert await circuit(gateway) == "open"

    fast = await gateway.invoke("warehouse.stock.get", STOCK)
    assert fast.status == 503
    assert (await fast.json())["code"] == "backend_unavailable"
    assert fast.headers["Retry-After"] == "30"
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 3  # failing fast: not sent
    assert (await gateway.client.get("/readyz")).status == 503

    fake_time.now += 30
    assert await circuit(gateway) == "half_open"
    probe = await gateway.invoke("warehouse.stock.get", STOCK)  # still failing: open again
    assert probe.status == 503
    assert await circuit(gateway) == "open"
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 4

    fake_time.now += 30
    await gateway.fault("ok")
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 200
    assert await circuit(gateway) == "closed"
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 200
    assert (await gateway.client.get("/readyz")).status == 200


async def test_business_errors_do_not_open_the_breaker(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with(BREAKER)
    for _ in range(5):
        missing = await gateway.invoke("warehouse.stock.get", {"material": "9", "plant": "1000"})
        assert missing.status == 404
    assert await circuit(gateway) == "closed"
