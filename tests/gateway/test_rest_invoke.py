"""Invoking operations through the REST API: the happy path, a write, and the envelope."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from tests.conftest import REPLENISH, Gateway

STOCK = {"material": "100234", "plant": "1000"}


async def test_read_maps_legacy_fields_to_the_canonical_model(gateway: Gateway) -> None:
    response = await gateway.invoke("warehouse.stock.get", STOCK)

    assert response.status == 200
    body = await response.json()
    assert body["operation"] == "warehouse.stock.get"
    assert body["output"] == {
        "material": "100234",
        "plant": "1000",
        "storage_location": "0001",
        "quantity": "125.000",
        "unit": "ST",
        "last_changed": "2026-11-02",
    }


async def test_every_response_carries_request_id_and_server_timing(gateway: Gateway) -> None:
    response = await gateway.invoke("warehouse.stock.get", STOCK)

    body = await response.json()
    assert response.headers["X-Request-Id"] == body["request_id"]
    assert body["request_id"].startswith("req_")
    timing = response.headers["Server-Timing"]
    assert timing.startswith("gateway;dur=")
    assert "backend;dur=" in timing

    problem = await gateway.client.get("/nowhere")
    assert problem.headers["X-Request-Id"] == (await problem.json())["request_id"]
    assert problem.headers["Server-Timing"].startswith("gateway;dur=")


async def test_request_ids_are_unique(gateway: Gateway) -> None:
    ids = {
        (await gateway.invoke("warehouse.stock.get", STOCK)).headers["X-Request-Id"]
        for _ in range(5)
    }
    assert len(ids) == 5


async def test_a_write_is_visible_to_later_reads(gateway: Gateway) -> None:
    movement = {
        "material": "100234",
        "plant": "1000",
        "kind": "issue",
        "quantity": "25.5",
        "posting_date": "2026-11-26",
        "reference": "TICKET-1",
    }
    response = await gateway.invoke("warehouse.goods_movements.create", movement, REPLENISH)

    assert response.status == 200
    posted = (await response.json())["output"]
    assert posted["document_number"] == "4900000001"
    assert posted["fiscal_year"] == 2026
    assert Decimal(posted["stock_after"]) == Decimal("99.5")
    read = await (await gateway.invoke("warehouse.stock.get", STOCK)).json()
    assert Decimal(read["output"]["quantity"]) == Decimal("99.5")
    assert read["output"]["last_changed"] == date(2026, 11, 26).isoformat()


async def test_item_master_read_maps_empty_weight_to_null(gateway: Gateway) -> None:
    response = await gateway.invoke("warehouse.items.get", {"material": "300001"})

    assert response.status == 200
    item = (await response.json())["output"]
    assert item == {
        "material": "300001",
        "description": "Hydraulic oil HLP 46",
        "base_unit": "L",
        "gross_weight_kg": None,
        "responsible_buyer": None,
    }


async def test_on_behalf_of_is_recorded_in_the_audit_event(gateway: Gateway) -> None:
    response = await gateway.invoke(
        "warehouse.stock.get", STOCK, **{"X-On-Behalf-Of": "maria.schmidt@acme.example"}
    )

    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert event.on_behalf_of == "maria.schmidt@acme.example"
    assert event.agent_id == "inventory-bot"
    assert event.agent_owner == "team-logistics"


async def test_invalid_on_behalf_of_is_rejected(gateway: Gateway) -> None:
    response = await gateway.invoke("warehouse.stock.get", STOCK, **{"X-On-Behalf-Of": "a b\tc"})

    assert response.status == 422
    problem = await response.json()
    assert problem["errors"][0]["field"] == "on_behalf_of"
    [event] = await gateway.audit(request_id=problem["request_id"])  # refused, and recorded
    assert event.outcome == "validation_failed"
    assert event.agent_id == "inventory-bot"
    assert event.on_behalf_of is None
