"""Prometheus metrics: calls by operation, agent and outcome; the latency split."""

from __future__ import annotations

import re

from tests.conftest import RETIRED, Gateway

STOCK = {"material": "100234", "plant": "1000"}


def sample(text: str, name: str, **labels: str) -> float:
    for line in text.splitlines():
        if not line.startswith(name + "{"):
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', line.split("}")[0]))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(line.rsplit(" ", 1)[1])
    return 0.0


async def test_metrics_count_calls_by_outcome_and_split_latency(gateway: Gateway) -> None:
    for _ in range(3):
        await gateway.invoke("warehouse.stock.get", STOCK)
    await gateway.invoke("warehouse.stock.get", {"material": 1})
    await gateway.invoke("warehouse.stock.get", STOCK, key=RETIRED)

    response = await gateway.client.get("/metrics")
    assert response.status == 200
    assert response.content_type == "text/plain"
    text = await response.text()
    calls = "lastmile_calls_total"
    assert (
        sample(text, calls, operation="warehouse.stock.get", agent="inventory-bot", outcome="ok")
        == 3
    )
    assert sample(text, calls, agent="inventory-bot", outcome="validation_failed") == 1
    assert sample(text, calls, agent="anonymous", outcome="unauthenticated") == 1
    assert sample(text, "lastmile_backend_latency_seconds_count", backend="acme_wms") == 3
    gateway_count = "lastmile_gateway_latency_seconds_count"
    assert sample(text, gateway_count, operation="warehouse.stock.get") == 4
    assert sample(text, gateway_count, operation="unknown") == 1  # unauthenticated: not resolved


async def test_metrics_show_breakers_bulkheads_and_audit_lag(gateway: Gateway) -> None:
    await gateway.invoke("warehouse.stock.get", STOCK)
    await gateway.fault("unavailable")
    for _ in range(5):  # the default breaker opens after 5 consecutive failures
        await gateway.invoke("warehouse.stock.get", STOCK)

    text = await (await gateway.client.get("/metrics")).text()
    assert sample(text, "lastmile_breaker_state", backend="acme_wms") == 2  # open
    assert "lastmile_bulkhead_queue_depth{" in text
    assert sample(text, "lastmile_bulkhead_in_flight", backend="acme_wms") == 0
    lag = [line for line in text.splitlines() if line.startswith("lastmile_audit_batch_seconds ")]
    assert float(lag[0].split()[1]) > 0
