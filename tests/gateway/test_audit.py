"""One audit event per invocation, whatever its outcome, durable before the answer."""

from __future__ import annotations

import asyncio
import hashlib
import json
import sqlite3
from typing import Any

from tests.conftest import REPLENISH, RETIRED, Gateway

STOCK = {"material": "100234", "plant": "1000"}


async def test_each_invocation_leaves_exactly_one_event(gateway: Gateway) -> None:
    outcomes = [
        await gateway.invoke("warehouse.stock.get", STOCK),
        await gateway.invoke("warehouse.stock.get", {"material": 1}),
        await gateway.invoke("warehouse.nothing.here", STOCK),
        await gateway.invoke("warehouse.stock.get", STOCK, key=RETIRED),
    ]

    events = await gateway.audit()
    assert [e.request_id for e in events] == [r.headers["X-Request-Id"] for r in outcomes]
    assert [e.outcome for e in events] == [
        "ok",
        "validation_failed",
        "unknown_operation",
        "unauthenticated",
    ]
    assert [e.status for e in events] == [200, 422, 404, 401]


async def test_event_records_who_what_and_how_long(gateway: Gateway) -> None:
    movement = {
        "material": "100234",
        "plant": "1000",
        "kind": "receipt",
        "quantity": "5",
        "posting_date": "2026-11-26",
    }
    raw = json.dumps(movement).encode()
    response = await gateway.client.post(
        "/v1/operations/warehouse.goods_movements.create",
        data=raw,
        headers={
            "Authorization": f"Bearer {REPLENISH}",
            "Content-Type": "application/json",
            "X-On-Behalf-Of": "planner-7",
        },
    )
    assert response.status == 200

    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert event.backend_reference == (await response.json())["output"]["document_number"]
    assert event.agent_id == "replenishment-bot"
    assert event.agent_owner == "ops-planning"
    assert event.on_behalf_of == "planner-7"
    assert event.operation == "warehouse.goods_movements.create"
    assert event.backend == "acme_wms"
    assert event.effect == "write"
    assert event.decision == "allow"
    assert event.input == {**movement, "quantity": "5", "reference": None}
    assert event.input_sha256 == hashlib.sha256(raw).hexdigest()
    assert event.backend_ms is not None
    assert event.backend_ms > 0
    assert event.gateway_ms >= 0


async def test_event_is_committed_before_the_response(gateway: Gateway) -> None:
    response = await gateway.invoke("warehouse.stock.get", STOCK)
    request_id = response.headers["X-Request-Id"]

    # A separate connection sees it: it is committed, not just buffered in the gateway.
    with sqlite3.connect(gateway.audit_db) as db:
        rows = db.execute(
            "SELECT outcome FROM audit_events WHERE request_id = ?", (request_id,)
        ).fetchall()
    assert rows == [("ok",)]


async def test_concurrent_calls_are_all_recorded(gateway: Gateway) -> None:
    responses: list[Any] = await asyncio.gather(
        *(gateway.invoke("warehouse.stock.get", STOCK) for _ in range(40))
    )
    assert {r.status for r in responses} == {200}

    events = await gateway.audit(limit=1000)
    assert sorted(e.request_id for e in events) == sorted(
        r.headers["X-Request-Id"] for r in responses
    )


async def test_call_log_line_per_invocation(gateway: Gateway, log_lines: Any) -> None:
    response = await gateway.invoke("warehouse.stock.get", STOCK)

    calls = [line for line in log_lines() if line["event"] == "call"]
    assert len(calls) == 1
    assert calls[0]["request_id"] == response.headers["X-Request-Id"]
    assert calls[0]["outcome"] == "ok"
    assert calls[0]["level"] == "info"
    assert "timestamp" in calls[0]
