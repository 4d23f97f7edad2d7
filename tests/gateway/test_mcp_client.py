"""The official MCP SDK client against the gateway's Streamable HTTP endpoint on a real
port (stdio, relayed by ``lastmile mcp-stdio``, is in test_mcp_stdio.py).

Each test runs in both eras the SDK speaks: ``auto`` (it discovers 2026-07-28 and sends
self-contained requests, no session) and ``legacy`` (the initialize handshake and an
``Mcp-Session-Id`` session). Every call must leave an audit event with protocol "mcp".
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.conftest import INVENTORY, REPLENISH, Gateway

MODES = ["auto", "legacy"]
STOCK = {"material": "100234", "plant": "1000"}
READS = ["warehouse_items_get", "warehouse_stock_get"]


@asynccontextmanager
async def mcp_over_http(gateway: Gateway, key: str, mode: str) -> AsyncIterator[Client]:
    url = str(gateway.client.make_url("/mcp"))
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"})
    async with http, Client(streamable_http_client(url, http_client=http), mode=mode) as client:
        yield client


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content)


@pytest.mark.parametrize("mode", MODES)
async def test_lists_only_the_tools_the_agent_may_call(gateway: Gateway, mode: str) -> None:
    async with mcp_over_http(gateway, INVENTORY, mode) as client:
        inventory = {tool.name: tool for tool in (await client.list_tools()).tools}
    async with mcp_over_http(gateway, REPLENISH, mode) as client:
        replenish = {tool.name: tool for tool in (await client.list_tools()).tools}

    assert sorted(inventory) == READS
    assert sorted(replenish) == sorted([*READS, "warehouse_goods_movements_create"])
    read = inventory["warehouse_stock_get"]
    assert read.title == "warehouse.stock.get"
    assert read.meta is not None
    assert read.meta["dev.lastmile/operation"] == "warehouse.stock.get"
    assert read.input_schema["required"] == ["material", "plant"]
    assert read.output_schema is not None
    assert "quantity" in read.output_schema["properties"]
    assert read.annotations is not None
    assert read.annotations.read_only_hint is True
    assert read.annotations.destructive_hint is False
    assert read.annotations.idempotent_hint is True
    assert read.annotations.open_world_hint is False
    write = replenish["warehouse_goods_movements_create"]
    assert write.annotations is not None
    assert write.annotations.read_only_hint is False
    assert write.annotations.destructive_hint is True
    assert write.annotations.idempotent_hint is False
    assert "$ref" not in str(write.input_schema)  # the MovementKind enum is inlined


@pytest.mark.parametrize("mode", MODES)
async def test_a_read_answers_with_validated_structured_content(
    gateway: Gateway, mode: str
) -> None:
    rest = await (await gateway.invoke("warehouse.stock.get", STOCK)).json()
    async with mcp_over_http(gateway, INVENTORY, mode) as client:
        result = await client.call_tool("warehouse.stock.get", STOCK)

    assert result.is_error is False
    assert result.structured_content == rest["output"]
    assert '"quantity": "125.000"' in text_of(result)
    assert result.meta is not None
    request_id = result.meta["dev.lastmile/requestId"]
    [event] = await gateway.audit(request_id=request_id)
    assert (event.protocol, event.agent_id, event.operation) == (
        "mcp",
        "inventory-bot",
        "warehouse.stock.get",
    )
    assert (event.outcome, event.decision.value, event.input) == ("ok", "allow", STOCK)


@pytest.mark.parametrize("mode", MODES)
async def test_invalid_arguments_come_back_as_a_tool_error_the_model_can_fix(
    gateway: Gateway, mode: str
) -> None:
    async with mcp_over_http(gateway, INVENTORY, mode) as client:
        result = await client.call_tool(
            "warehouse.stock.get", {"material": "100234", "plant": 1000, "bin": "A1"}
        )

    assert result.is_error is True
    text = text_of(result)
    assert "(validation_failed)" in text
    assert "- plant: Input should be a valid string; expected a JSON string; received 1000" in text
    assert "- bin: unknown field; the allowed fields are material, plant" in text
    assert "inputSchema in tools/list" in text
    assert result.meta is not None
    problem = result.meta["dev.lastmile/problem"]
    assert problem["status"] == 422
    assert {e["field"] for e in problem["errors"]} == {"plant", "bin"}
    [event] = await gateway.audit(request_id=problem["request_id"])
    assert (event.protocol, event.outcome, event.status) == ("mcp", "validation_failed", 422)
    assert await gateway.wms_calls() == 0


@pytest.mark.parametrize("mode", MODES)
async def test_a_forbidden_tool_is_refused_and_audited(gateway: Gateway, mode: str) -> None:
    movement = {
        "material": "100234",
        "plant": "1000",
        "kind": "receipt",
        "quantity": "5",
        "posting_date": "2026-11-20",
    }
    async with mcp_over_http(gateway, INVENTORY, mode) as client:
        result = await client.call_tool("warehouse.goods_movements.create", movement)

    assert result.is_error is True
    assert "(forbidden): Agent 'inventory-bot' may not call" in text_of(result)
    [event] = await gateway.audit(agent_id="inventory-bot")
    assert (event.protocol, event.decision.value, event.outcome) == ("mcp", "deny", "forbidden")
    assert event.operation == "warehouse.goods_movements.create"
    assert await gateway.wms_calls() == 0


@pytest.mark.parametrize("mode", MODES)
async def test_a_backend_failure_is_a_retryable_tool_error(gateway: Gateway, mode: str) -> None:
    await gateway.fault("unavailable")
    async with mcp_over_http(gateway, INVENTORY, mode) as client:
        result = await client.call_tool("warehouse.stock.get", STOCK)

    assert result.is_error is True
    assert "(backend_unavailable)" in text_of(result)
    assert "may succeed if retried" in text_of(result)
    [event] = await gateway.audit(agent_id="inventory-bot")
    assert (event.protocol, event.outcome) == ("mcp", "backend_unavailable")


async def test_options_in_meta_reach_the_audit_trail(gateway: Gateway) -> None:
    async with mcp_over_http(gateway, REPLENISH, "auto") as client:
        result = await client.call_tool(
            "warehouse.stock.get",
            STOCK,
            meta={"dev.lastmile/onBehalfOf": "maria.schmidt@acme.example"},
        )
    assert result.is_error is False
    [event] = await gateway.audit(agent_id="replenishment-bot")
    assert event.on_behalf_of == "maria.schmidt@acme.example"


async def test_a_client_with_a_bad_key_cannot_connect(gateway: Gateway) -> None:
    with pytest.raises(BaseExceptionGroup) as raised:
        async with mcp_over_http(gateway, "lm_not_a_key", "auto"):
            pass
    assert raised.group_contains(MCPError)
    assert await gateway.audit() == []
