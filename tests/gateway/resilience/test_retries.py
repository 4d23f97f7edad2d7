"""Retries: backoff with full jitter on the injected sleep, only where re-sending is safe,
every attempt in the audit event."""

from __future__ import annotations

from tests.conftest import REPLENISH
from tests.gateway.resilience.conftest import (
    CREATE,
    RECEIPT,
    STOCK,
    FakeTime,
    GatewayFactory,
    sandbox_post,
    sandbox_stats,
)

RETRIES = """
resilience:
  defaults:
    retry: {attempts: 4, backoff_s: 0.5, max_backoff_s: 1.5, deadline_s: 60}
"""


async def test_a_read_is_retried_with_jittered_backoff_and_each_attempt_audited(
    gateway_with: GatewayFactory, fake_time: FakeTime
) -> None:
    gateway = await gateway_with(RETRIES)
    await sandbox_post(gateway.wms, "/_sandbox/faults", {"mode": "unavailable", "count": 2})

    response = await gateway.invoke("warehouse.stock.get", STOCK)
    assert response.status == 200
    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert [(a.number, a.error_code) for a in event.attempts] == [
        (1, "backend_unavailable"),
        (2, "backend_unavailable"),
        (3, None),
    ]
    assert len(fake_time.sleeps) == 2
    assert 0 <= fake_time.sleeps[0] <= 0.5  # full jitter: anywhere in [0, 0.5 * 2^0]
    assert 0 <= fake_time.sleeps[1] <= 1.0  # [0, 0.5 * 2^1]
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 3


async def test_retries_stop_at_the_attempt_budget(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with(RETRIES)
    await gateway.fault("unavailable")
    response = await gateway.invoke("warehouse.stock.get", STOCK)
    assert response.status == 503
    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert len(event.attempts) == 4
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 4


async def test_retries_stop_at_the_total_deadline(
    gateway_with: GatewayFactory, fake_time: FakeTime
) -> None:
    gateway = await gateway_with(
        "resilience: {defaults: {retry: "
        "{attempts: 20, backoff_s: 4, max_backoff_s: 4, deadline_s: 10}}}\n"
    )
    await gateway.fault("unavailable")
    started = fake_time.now
    response = await gateway.invoke("warehouse.stock.get", STOCK)
    assert response.status == 503
    assert fake_time.now - started <= 10  # no wait reaches past the deadline
    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert 2 <= len(event.attempts) < 20


async def test_a_write_without_a_key_is_not_retried(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with(RETRIES)
    await sandbox_post(gateway.wms, "/_sandbox/faults", {"mode": "unavailable", "count": 1})
    response = await gateway.invoke(CREATE, RECEIPT, REPLENISH)
    assert response.status == 503
    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert len(event.attempts) == 1
    assert (await sandbox_stats(gateway.wms))["documents"] == 0


async def test_a_keyed_write_is_retried_and_recorded_once(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with(RETRIES)
    await sandbox_post(gateway.wms, "/_sandbox/faults", {"mode": "unavailable", "count": 1})
    response = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **{"Idempotency-Key": "w"})
    assert response.status == 200
    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert [a.error_code for a in event.attempts] == ["backend_unavailable", None]
    assert (await sandbox_stats(gateway.wms))["documents"] == 1


async def test_business_errors_are_not_retried(gateway_with: GatewayFactory) -> None:
    gateway = await gateway_with(RETRIES)
    response = await gateway.invoke("warehouse.stock.get", {"material": "9", "plant": "1000"})
    assert response.status == 404
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 1
