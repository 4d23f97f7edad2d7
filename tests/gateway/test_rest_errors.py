"""Bad input gets a precise problem document, never a 500, and never reaches the backend."""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import INVENTORY, Gateway

STOCK = {"material": "100234", "plant": "1000"}
PROBLEM = "application/problem+json"


async def problem(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status == status
    assert response.content_type == PROBLEM
    body: dict[str, Any] = await response.json()
    assert body["code"] == code
    assert body["status"] == status
    assert body["type"].endswith("/" + code)
    assert body["request_id"] == response.headers["X-Request-Id"]
    assert "Traceback" not in body["detail"]
    return body


async def post_raw(gateway: Gateway, data: bytes, content_type: str = "application/json") -> Any:
    return await gateway.client.post(
        "/v1/operations/warehouse.stock.get",
        data=data,
        headers={"Authorization": f"Bearer {INVENTORY}", "Content-Type": content_type},
    )


async def test_validation_failed_lists_each_field_with_expected_and_received(
    gateway: Gateway,
) -> None:
    body = {"material": "100234", "plant": 1000, "bin": "A-01"}
    response = await gateway.invoke("warehouse.stock.get", body)

    result = await problem(response, 422, "validation_failed")
    errors = {e["field"]: e for e in result["errors"]}
    assert set(errors) == {"plant", "bin"}
    assert errors["plant"]["expected"] == "a JSON string"
    assert errors["plant"]["received"] == "1000"
    assert "allowed fields are material, plant" in errors["bin"]["message"]
    assert errors["bin"]["received"] == '"A-01"'
    assert "plant" in result["detail"]
    assert "GET /v1/operations/warehouse.stock.get" in result["detail"]
    assert await gateway.wms_calls() == 0


async def test_missing_field_and_pattern_mismatch_are_explained(gateway: Gateway) -> None:
    response = await gateway.invoke("warehouse.stock.get", {"material": "bolt m8"})

    result = await problem(response, 422, "validation_failed")
    errors = {e["field"]: e for e in result["errors"]}
    assert errors["plant"]["message"] == "required field is missing"
    assert errors["plant"]["received"] is None
    assert errors["material"]["expected"] == "a string matching the pattern ^[A-Z0-9-]+$"


async def test_strict_mode_refuses_coercion_of_numbers_from_booleans(gateway: Gateway) -> None:
    movement = {
        "material": "100234",
        "plant": "1000",
        "kind": "receipt",
        "quantity": True,
        "posting_date": "2026-11-26",
    }
    response = await gateway.invoke(
        "warehouse.goods_movements.create",
        movement,
        key=None,
        Authorization="Bearer lm_demo_replenish_8d31e05c6a",
    )

    result = await problem(response, 422, "validation_failed")
    assert [e["field"] for e in result["errors"]] == ["quantity"]
    assert await gateway.wms_calls() == 0


async def test_write_rejected_by_validation_changes_nothing(gateway: Gateway) -> None:
    movement = {
        "material": "100234",
        "plant": "1000",
        "kind": "teleport",
        "quantity": "-5",
        "posting_date": "26.11.2026",
    }
    response = await gateway.client.post(
        "/v1/operations/warehouse.goods_movements.create",
        json=movement,
        headers={"Authorization": "Bearer lm_demo_replenish_8d31e05c6a"},
    )

    result = await problem(response, 422, "validation_failed")
    assert {e["field"] for e in result["errors"]} == {"kind", "quantity", "posting_date"}
    kind = next(e for e in result["errors"] if e["field"] == "kind")
    assert "receipt" in kind["expected"]
    assert await gateway.wms_calls() == 0


@pytest.mark.parametrize(
    "data",
    [b'{"material": "100234",', b"not json at all", b'{"material": "100234"}}', b"\xff\xfe"],
)
async def test_malformed_json_is_a_400(gateway: Gateway, data: bytes) -> None:
    await problem(await post_raw(gateway, data), 400, "malformed_json")
    assert await gateway.wms_calls() == 0


async def test_empty_body_is_a_400_that_says_what_to_send(gateway: Gateway) -> None:
    result = await problem(await post_raw(gateway, b""), 400, "malformed_json")
    assert "{}" in result["detail"]


async def test_a_json_array_is_not_an_object(gateway: Gateway) -> None:
    result = await problem(await post_raw(gateway, b"[1, 2]"), 422, "validation_failed")
    assert result["errors"][0]["expected"] == "a JSON object"


async def test_wrong_content_type_is_a_415(gateway: Gateway) -> None:
    response = await post_raw(gateway, b"material=100234", "application/x-www-form-urlencoded")
    await problem(response, 415, "unsupported_media_type")


async def test_oversized_body_is_a_413(gateway: Gateway) -> None:
    data = b'{"material": "' + b"1" * 5000 + b'", "plant": "1000"}'
    await problem(await post_raw(gateway, data), 413, "payload_too_large")
    assert await gateway.wms_calls() == 0


async def test_oversized_chunked_body_is_a_413(gateway: Gateway) -> None:
    async def chunks() -> Any:
        for _ in range(10):
            yield b" " * 1000

    response = await gateway.client.post(
        "/v1/operations/warehouse.stock.get",
        data=chunks(),
        headers={"Authorization": f"Bearer {INVENTORY}", "Content-Type": "application/json"},
    )
    await problem(response, 413, "payload_too_large")


async def test_unknown_operation_is_a_404(gateway: Gateway) -> None:
    result = await problem(
        await gateway.invoke("warehouse.stock.delete", STOCK), 404, "unknown_operation"
    )
    assert "GET /v1/operations" in result["detail"]


async def test_unknown_route_and_wrong_method_are_problems(gateway: Gateway) -> None:
    await problem(await gateway.client.get("/v2/anything"), 404, "not_found")
    result = await problem(await gateway.client.delete("/v1/operations"), 405, "method_not_allowed")
    assert "GET" in result["detail"]


async def test_forbidden_operation_is_a_403_and_never_reaches_the_backend(gateway: Gateway) -> None:
    movement = {
        "material": "100234",
        "plant": "1000",
        "kind": "receipt",
        "quantity": "1",
        "posting_date": "2026-11-26",
    }
    response = await gateway.invoke("warehouse.goods_movements.create", movement)

    result = await problem(response, 403, "forbidden")
    assert "inventory-bot" in result["detail"]
    assert await gateway.wms_calls() == 0
    [event] = await gateway.audit(request_id=result["request_id"])
    assert event.decision == "deny"
