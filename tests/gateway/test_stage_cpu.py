"""Per-stage CPU counters: off by default, and when on, every stage a call entered counts it.

The figures themselves are timings and live in bench/ (``bench/stage_cpu.py``); what is
tested is which stages counted which calls, read back from ``/metrics``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from tests.conftest import RETIRED, TEST_CONFIG, Gateway, make_config
from tests.gateway.test_metrics import sample

STOCK = {"material": "100234", "plant": "1000"}
STAGES = (
    "Measure",
    "Record",
    "Identify",
    "CheckHalt",
    "Resolve",
    "CheckScope",
    "Limit",
    "ValidateInput",
    "Idempotency",
    "Decide",
    "EnforceBudgets",
    "Hold",
    "Preview",
    "Redact",
    "ValidateOutput",
    "CallBackend",
)


@pytest.fixture
async def counting(wms: TestServer, tmp_path: Path) -> AsyncIterator[Gateway]:
    config = make_config(
        str(wms.make_url("/")).rstrip("/"),
        tmp_path / "audit.sqlite",
        TEST_CONFIG + "tracing:\n  stage_cpu: true\n",
    )
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(config), host="127.0.0.1"))
    await client.start_server()
    yield Gateway(client, wms, tmp_path / "audit.sqlite")
    await client.close()


async def test_every_stage_a_call_entered_counts_it_and_its_cpu(counting: Gateway) -> None:
    for _ in range(2):
        assert (await counting.invoke("warehouse.stock.get", STOCK)).status == 200
    refused = await counting.invoke("warehouse.stock.get", STOCK, key=RETIRED)
    assert refused.status == 401  # refused by Identify: the stages inside never saw it

    text = await (await counting.client.get("/metrics")).text()
    calls = {name: sample(text, "lastmile_stage_calls", stage=name) for name in STAGES}
    assert calls == {name: 3 if name in STAGES[:3] else 2 for name in STAGES}
    cpu = {name: sample(text, "lastmile_stage_cpu_seconds", stage=name) for name in STAGES}
    assert all(seconds >= 0 for seconds in cpu.values())
    assert sum(cpu.values()) > 0


async def test_counting_keeps_the_pipeline_whole(counting: Gateway) -> None:
    """The answer and its audit event are the same as without counters."""
    response = await counting.invoke("warehouse.stock.get", STOCK)
    assert response.status == 200
    assert (await response.json())["output"]["quantity"] == "125.000"
    events = await counting.audit()
    assert [event.decision for event in events] == ["allow"]


async def test_counters_are_off_by_default(gateway: Gateway) -> None:
    assert (await gateway.invoke("warehouse.stock.get", STOCK)).status == 200
    text = await (await gateway.client.get("/metrics")).text()
    assert "lastmile_stage_cpu_seconds" not in text
    assert "lastmile_stage_calls" not in text
