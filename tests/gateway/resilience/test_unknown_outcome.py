"""A write committed by the WMS whose answer came too late is never posted twice.

The sandbox's ``committed_timeout`` mode stores the goods movement, then holds its answer
past the gateway's 0.5 s timeout. The adapter sends the call's backend key as the
movement's external reference (EXTREF) and looks it up before any re-send.
"""

from __future__ import annotations

from tests.conftest import REPLENISH
from tests.gateway.resilience.conftest import (
    CREATE,
    RECEIPT,
    GatewayFactory,
    sandbox_post,
    sandbox_stats,
)

GATEWAY_RETRIES = "resilience: {defaults: {retry: {attempts: 3}}}\n"
NO_GATEWAY_RETRIES = "resilience: {defaults: {retry: {attempts: 1}}}\n"
COMMITTED_TIMEOUT = {"mode": "committed_timeout", "delay_s": 30, "count": 1}


async def test_the_gateway_retry_finds_the_committed_write_instead_of_resending(
    gateway_with: GatewayFactory,
) -> None:
    gateway = await gateway_with(GATEWAY_RETRIES)
    await sandbox_post(gateway.wms, "/_sandbox/faults", COMMITTED_TIMEOUT)

    response = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "once"})
    assert response.status == 200
    output = (await response.json())["output"]
    assert output["stock_after"] == "130.000"
    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert [a.error_code for a in event.attempts] == ["timeout", None]
    assert event.attempts[1].detail == "found by its external reference"

    again = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "once"})
    assert (await again.json())["output"] == output
    assert (await sandbox_stats(gateway.wms))["documents"] == 1


async def test_the_agents_retry_with_the_same_key_finds_the_committed_write(
    gateway_with: GatewayFactory,
) -> None:
    gateway = await gateway_with(NO_GATEWAY_RETRIES)
    await sandbox_post(gateway.wms, "/_sandbox/faults", COMMITTED_TIMEOUT)

    timed_out = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "agent"})
    assert timed_out.status == 504
    assert (await sandbox_stats(gateway.wms))["documents"] == 1

    for _ in range(3):  # however often the agent retries with its key
        retried = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "agent"})
        assert retried.status == 200
    [event] = await gateway.audit(request_id=retried.headers["X-Request-Id"])
    assert event.replayed is True
    stats = await sandbox_stats(gateway.wms)
    assert stats["documents"] == 1
    stock = await gateway.invoke("warehouse.stock.get", {"material": "100234", "plant": "1000"})
    assert (await stock.json())["output"]["quantity"] == "130.000"


async def test_a_write_without_a_key_that_timed_out_is_not_sent_again(
    gateway_with: GatewayFactory,
) -> None:
    gateway = await gateway_with(GATEWAY_RETRIES)
    await sandbox_post(gateway.wms, "/_sandbox/faults", COMMITTED_TIMEOUT)

    response = await gateway.invoke(CREATE, RECEIPT, REPLENISH)
    assert response.status == 504
    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert len(event.attempts) == 1
    assert (await sandbox_stats(gateway.wms))["documents"] == 1


async def test_after_an_unknown_outcome_the_key_still_names_one_payload(
    gateway_with: GatewayFactory,
) -> None:
    gateway = await gateway_with(NO_GATEWAY_RETRIES)
    await sandbox_post(gateway.wms, "/_sandbox/faults", COMMITTED_TIMEOUT)
    timed_out = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "p"})
    assert timed_out.status == 504

    other = {**RECEIPT, "quantity": "7"}
    reused = await gateway.invoke(CREATE, other, REPLENISH, **{"Idempotency-Key": "p"})
    assert reused.status == 422
    assert (await reused.json())["code"] == "idempotency_key_reused"
    retried = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "p"})
    assert retried.status == 200
    assert (await sandbox_stats(gateway.wms))["documents"] == 1
