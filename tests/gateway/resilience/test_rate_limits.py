"""Rate limits answer 429 with an honest integer Retry-After and consistent RateLimit headers."""

from __future__ import annotations

from tests.conftest import INVENTORY, REPLENISH
from tests.gateway.resilience.conftest import STOCK, FakeTime, GatewayFactory, sandbox_stats

PER_AGENT = """
resilience:
  rate_limits:
    agent: {limit: 2, window_s: 60}
"""


async def test_a_spent_quota_is_429_and_a_retry_at_retry_after_succeeds(
    gateway_with: GatewayFactory, fake_time: FakeTime
) -> None:
    gateway = await gateway_with(PER_AGENT)
    first = await gateway.invoke("warehouse.stock.get", STOCK)
    assert first.status == 200
    assert first.headers["RateLimit-Policy"] == '"agent";q=2;w=60'
    # GCRA: two at once, then one every 30 s; the whole quota is back 30 s after one call
    assert first.headers["RateLimit"] == '"agent";r=1;t=30'
    fake_time.now += 10
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 200

    fake_time.now += 5
    refused = await gateway.invoke("warehouse.stock.get", STOCK)
    assert refused.status == 429
    body = await refused.json()
    assert body["code"] == "rate_limited"
    assert body["retryable"] is True
    retry_after = int(refused.headers["Retry-After"])
    assert retry_after == 15  # the next call conforms one interval (30 s) after the first
    assert refused.headers["RateLimit"] == f'"agent";r=0;t={retry_after}'
    assert refused.headers["RateLimit-Policy"] == '"agent";q=2;w=60'
    [event] = await gateway.audit(request_id=refused.headers["X-Request-Id"])
    assert event.outcome == "rate_limited"

    fake_time.now += retry_after - 1
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 429
    fake_time.now += 1
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 200
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 3
    metrics = await (await gateway.client.get("/metrics")).text()
    assert 'lastmile_rate_limit_rejections_total{agent="inventory-bot"} 2.0' in metrics


async def test_rejected_callers_do_not_spend_anyone_elses_quota(
    gateway_with: GatewayFactory,
) -> None:
    gateway = await gateway_with(
        """
resilience:
  backends:
    acme_wms: {rate_limit: {limit: 2, window_s: 60}}
"""
    )
    for _ in range(5):
        assert (await gateway.invoke("warehouse.stock.get", STOCK, key="lm_wrong")).status == 401
        forbidden = await gateway.invoke("warehouse.goods_movements.create", {}, INVENTORY)
        assert forbidden.status == 403

    assert (await gateway.invoke("warehouse.stock.get", STOCK, INVENTORY)).status == 200
    assert (await gateway.invoke("warehouse.stock.get", STOCK, REPLENISH)).status == 200
    refused = await gateway.invoke("warehouse.stock.get", STOCK, INVENTORY)
    assert refused.status == 429
    assert refused.headers["RateLimit"].startswith('"backend";r=0;')
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 2


async def test_agent_operation_limit_refusal_gives_back_the_agent_quota(
    gateway_with: GatewayFactory,
) -> None:
    gateway = await gateway_with(
        """
resilience:
  rate_limits:
    agent: {limit: 3, window_s: 60}
  operations:
    warehouse.stock.get: {rate_limit: {limit: 1, window_s: 60}}
"""
    )
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 200
    refused = await gateway.invoke("warehouse.stock.get", STOCK)
    assert refused.status == 429
    assert refused.headers["RateLimit"].startswith('"agent-operation";r=0;')
    item = await gateway.invoke("warehouse.items.get", {"material": "100234"})
    assert item.status == 200
    # 2 of 3 spent (one every 20 s): the refused call took nothing from the agent's quota
    assert item.headers["RateLimit"] == '"agent";r=1;t=40'
