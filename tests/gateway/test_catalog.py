"""The catalog shows each agent only what it may call, with JSON Schemas both ways."""

from __future__ import annotations

from tests.conftest import INVENTORY, REPLENISH, Gateway


async def catalog(gateway: Gateway, key: str) -> list[dict[str, object]]:
    response = await gateway.client.get(
        "/v1/operations", headers={"Authorization": f"Bearer {key}"}
    )
    assert response.status == 200
    operations: list[dict[str, object]] = (await response.json())["operations"]
    return operations


async def test_catalog_is_filtered_by_the_agents_allow_list(gateway: Gateway) -> None:
    inventory = [op["name"] for op in await catalog(gateway, INVENTORY)]
    replenish = [op["name"] for op in await catalog(gateway, REPLENISH)]

    assert inventory == ["warehouse.items.get", "warehouse.stock.get"]
    assert replenish == [
        "warehouse.goods_movements.create",
        "warehouse.items.get",
        "warehouse.stock.get",
    ]


async def test_catalog_entries_describe_the_operation_for_an_llm(gateway: Gateway) -> None:
    [write] = [
        op
        for op in await catalog(gateway, REPLENISH)
        if op["name"] == "warehouse.goods_movements.create"
    ]

    assert write["effect"] == "write"
    assert write["idempotent"] is False
    assert write["risk"] == "medium"
    assert write["owner"] == "team-logistics"
    assert write["backend"] == "acme_wms"
    assert "receipt" in str(write["description"])
    input_schema = write["input_schema"]
    assert isinstance(input_schema, dict)
    assert input_schema["additionalProperties"] is False
    assert set(input_schema["required"]) == {
        "material",
        "plant",
        "kind",
        "quantity",
        "posting_date",
    }
    output_schema = write["output_schema"]
    assert isinstance(output_schema, dict)
    assert "document_number" in output_schema["properties"]


async def test_single_operation_lookup(gateway: Gateway) -> None:
    headers = {"Authorization": f"Bearer {INVENTORY}"}
    ok = await gateway.client.get("/v1/operations/warehouse.stock.get", headers=headers)
    assert ok.status == 200
    assert (await ok.json())["name"] == "warehouse.stock.get"

    forbidden = await gateway.client.get(
        "/v1/operations/warehouse.goods_movements.create", headers=headers
    )
    assert forbidden.status == 403
    assert (await forbidden.json())["code"] == "forbidden"

    unknown = await gateway.client.get("/v1/operations/warehouse.nope.get", headers=headers)
    assert unknown.status == 404
    assert (await unknown.json())["code"] == "unknown_operation"
