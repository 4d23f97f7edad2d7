"""Read coalescing and caching: fewer backend calls, never shared across agents."""

from __future__ import annotations

import asyncio

from gateway.appkeys import RESILIENCE
from sandbox import acme_warehouse
from tests.conftest import INVENTORY, REPLENISH
from tests.gateway.resilience.conftest import (
    CREATE,
    RECEIPT,
    STOCK,
    FakeTime,
    GatewayFactory,
    sandbox_post,
    sandbox_stats,
)

COALESCE = """
resilience:
  operations:
    warehouse.stock.get: {coalesce: true}
"""


async def test_identical_concurrent_reads_make_one_backend_call(
    gateway_with: GatewayFactory,
) -> None:
    gateway = await gateway_with(COALESCE)
    reads = gateway.client.app[RESILIENCE].reads
    await sandbox_post(gateway.wms, "/_sandbox/faults", {"mode": "hold"})
    calls = [asyncio.create_task(gateway.invoke("warehouse.stock.get", STOCK)) for _ in range(8)]
    await reads.wait_for_followers(7)  # seven calls wait on the first one's answer

    await sandbox_post(gateway.wms, "/_sandbox/release", {})
    responses = await asyncio.gather(*calls)
    assert {r.status for r in responses} == {200}
    outputs = [(await r.json())["output"] for r in responses]
    assert all(output == outputs[0] for output in outputs)
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 1


async def test_reads_are_not_coalesced_across_agents(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with(COALESCE)
    await sandbox_post(gateway.wms, "/_sandbox/faults", {"mode": "hold"})
    calls = [
        asyncio.create_task(gateway.invoke("warehouse.stock.get", STOCK, key))
        for key in (INVENTORY, REPLENISH)
    ]
    await gateway.wms.app[acme_warehouse.STATS].wait_for_in_flight(2)
    await sandbox_post(gateway.wms, "/_sandbox/release", {})
    assert [r.status for r in await asyncio.gather(*calls)] == [200, 200]
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 2


async def test_the_read_cache_keeps_answers_for_their_ttl_and_never_writes(
    gateway_with: GatewayFactory, fake_time: FakeTime
) -> None:
    gateway = await gateway_with(
        "resilience: {operations: {warehouse.stock.get: {cache_ttl_s: 10}}}\n"
    )
    first = await (await gateway.invoke("warehouse.stock.get", STOCK)).json()
    assert (await gateway.invoke(CREATE, RECEIPT, REPLENISH)).status == 200
    cached = await gateway.invoke("warehouse.stock.get", STOCK)
    assert (await cached.json())["output"] == first["output"]  # within the TTL: cached
    [event] = await gateway.audit(request_id=cached.headers["X-Request-Id"])
    assert event.reasons == ["answered by a cache read"]
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 2

    fake_time.now += 10
    fresh = await (await gateway.invoke("warehouse.stock.get", STOCK)).json()
    assert fresh["output"]["quantity"] == "130.000"
    other = await gateway.invoke("warehouse.stock.get", STOCK, REPLENISH)
    assert (await other.json())["output"]["quantity"] == "130.000"
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 4
