"""A slow, failing or lying backend gets a precise problem, and nothing false reaches the agent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from tests.conftest import REPLENISH, Gateway, make_config

STOCK = {"material": "100234", "plant": "1000"}


async def problem_code(response: Any) -> str:
    assert response.content_type == "application/problem+json"
    return str((await response.json())["code"])


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("error", 502, "backend_error"),
        ("unavailable", 503, "backend_unavailable"),
        ("not_json", 502, "backend_contract_violation"),
        ("huge", 502, "backend_contract_violation"),
        ("garbage", 502, "backend_contract_violation"),
        ("truncated", 502, "backend_contract_violation"),
    ],
)
async def test_backend_fault_modes_map_to_stable_codes(
    gateway: Gateway, mode: str, status: int, code: str
) -> None:
    await gateway.fault(mode)
    response = await gateway.invoke("warehouse.stock.get", STOCK)

    assert response.status == status
    assert await problem_code(response) == code
    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert event.outcome == code


async def test_slow_backend_times_out_with_a_504(gateway: Gateway) -> None:
    await gateway.fault("slow", delay_s=30)
    response = await gateway.invoke("warehouse.stock.get", STOCK)

    assert response.status == 504
    body = await response.json()
    assert body["code"] == "timeout"
    assert body["retryable"] is True
    assert "0.5 s" in body["detail"]


async def test_contract_violation_is_withheld_and_logged_for_engineers(
    gateway: Gateway, log_lines: Any
) -> None:
    await gateway.fault("garbage")
    response = await gateway.invoke("warehouse.stock.get", STOCK)

    body = await response.json()
    assert "12,5" not in str(body)
    assert "output" not in body
    assert "StockLevel" in body["detail"]
    [logged] = [line for line in log_lines() if line["event"] == "backend_contract_violation"]
    assert logged["request_id"] == body["request_id"]
    assert logged["backend"] == "acme_wms"
    assert logged["errors"]


async def test_business_errors_pass_on_the_backends_message(gateway: Gateway) -> None:
    too_much = {
        "material": "100234",
        "plant": "1000",
        "kind": "issue",
        "quantity": "1000",
        "posting_date": "2026-11-26",
    }
    response = await gateway.invoke("warehouse.goods_movements.create", too_much, REPLENISH)

    assert response.status == 422
    body = await response.json()
    assert body["code"] == "backend_rejected"
    assert "Deficit of unrestricted stock 875.000" in body["detail"]
    stock = await (await gateway.invoke("warehouse.stock.get", STOCK)).json()
    assert stock["output"]["quantity"] == "125.000"


async def test_unknown_record_is_backend_not_found(gateway: Gateway) -> None:
    response = await gateway.invoke("warehouse.stock.get", {"material": "999999", "plant": "1000"})

    assert response.status == 404
    body = await response.json()
    assert body["code"] == "backend_not_found"
    assert "999999" in body["detail"]


async def test_unreachable_backend_is_503_and_not_ready(tmp_path: Path) -> None:
    closed = TestServer(web.Application(), host="127.0.0.1")
    await closed.start_server()
    url = str(closed.make_url("/")).rstrip("/")
    await closed.close()  # nothing listens on this port any more

    app = build_app(make_config(url, tmp_path / "audit.sqlite"))
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        response = await client.post(
            "/v1/operations/warehouse.stock.get",
            json=STOCK,
            headers={"Authorization": "Bearer lm_demo_inventory_4f9c2a7e1b"},
        )
        assert response.status == 503
        assert (await response.json())["code"] == "backend_unavailable"

        ready = await client.get("/readyz")
        assert ready.status == 503
        body = await ready.json()
        assert body["ready"] is False
        assert body["backends"][0]["name"] == "acme_wms"


async def test_health_and_readiness(gateway: Gateway) -> None:
    assert (await gateway.client.get("/healthz")).status == 200
    ready = await gateway.client.get("/readyz")
    assert ready.status == 200
    assert (await ready.json())["backends"][0]["ready"] is True


@pytest.mark.parametrize(
    ("mode", "sent", "expected"), [("throttled", "30", "30"), ("unavailable", "2.5", "3")]
)
async def test_a_backends_retry_after_reaches_the_agent(
    gateway: Gateway, mode: str, sent: str, expected: str
) -> None:
    async with ClientSession() as http:
        switched = await http.post(
            gateway.wms.make_url("/_sandbox/faults"), json={"mode": mode, "retry_after": sent}
        )
        assert switched.status == 200

    response = await gateway.invoke("warehouse.stock.get", STOCK)

    assert response.status == 503
    assert await problem_code(response) == "backend_unavailable"
    assert response.headers["Retry-After"] == expected
