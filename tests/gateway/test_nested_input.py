"""Deeply nested JSON is a precise 4xx on every face, audited, never a 500.

Python's ``json`` recurses once per level and raises ``RecursionError`` near a thousand;
the input validator (pydantic's parser) stops at a fixed depth with ``json_invalid``.
These tests send nesting below, at and far past both limits.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import INVENTORY, Gateway
from tests.gateway.test_mcp_client import mcp_over_http

STOCK = {"material": "100234", "plant": "1000"}


def nested(depth: int) -> Any:
    value: Any = "100234"
    for _ in range(depth):
        value = [value]
    return value


def material(depth: int, closed: bool = True) -> str:
    return (
        '{"plant":"1000","material":' + "[" * depth + ('"1"' + "]" * depth + "}" if closed else "")
    )


async def post_body(gateway: Gateway, body: str) -> tuple[int, dict[str, Any]]:
    response = await gateway.client.post(
        "/v1/operations/warehouse.stock.get",
        data=body.encode(),
        headers={"Authorization": f"Bearer {INVENTORY}", "Content-Type": "application/json"},
    )
    return response.status, await response.json()


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (material(150), 422, "validation_failed"),
        (material(1500), 400, "malformed_json"),
        ("[" * 4000, 400, "malformed_json"),
        ('{"a":' * 800, 400, "malformed_json"),
    ],
    ids=["under-the-limit", "past-the-limit", "open-arrays", "open-objects"],
)
async def test_a_nested_rest_body_is_a_4xx_and_audited(
    gateway: Gateway, body: str, status: int, code: str
) -> None:
    answered, problem = await post_body(gateway, body)
    assert (answered, problem["code"]) == (status, code)
    [event] = await gateway.audit(request_id=problem["request_id"])
    assert (event.outcome, event.status) == (code, status)
    assert event.operation == "warehouse.stock.get"
    assert event.input_sha256 is not None  # the raw body was read and hashed


@pytest.mark.parametrize(("depth", "code"), [(150, "validation_failed"), (250, "malformed_json")])
async def test_nested_mcp_arguments_are_a_tool_error_and_audited(
    gateway: Gateway, depth: int, code: str
) -> None:
    async with mcp_over_http(gateway, INVENTORY, "auto") as client:
        result = await client.call_tool(
            "warehouse.stock.get", {"material": nested(depth), "plant": "1000"}
        )
    assert result.is_error is True
    assert result.meta is not None
    problem = result.meta["dev.lastmile/problem"]
    assert (problem["status"], problem["code"]) == (400 if code == "malformed_json" else 422, code)
    [event] = await gateway.audit(request_id=problem["request_id"])
    assert (event.protocol, event.outcome) == ("mcp", code)


async def raw_tools_call(gateway: Gateway, arguments: str) -> tuple[int, dict[str, Any]]:
    """One self-contained 2026-07-28 tools/call, its arguments sent as raw JSON text."""
    meta = (
        '{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
        '"io.modelcontextprotocol/clientCapabilities":{}}'
    )
    body = (
        '{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"warehouse.stock.get",'
        f'"arguments":{arguments},"_meta":{meta}}}}}'
    )
    response = await gateway.client.post(
        "/mcp",
        data=body.encode(),
        headers={
            "Authorization": f"Bearer {INVENTORY}",
            "Content-Type": "application/json",
            "Accept": "application/json, text/event-stream",
            "MCP-Protocol-Version": "2026-07-28",
            "Mcp-Method": "tools/call",
            "Mcp-Name": "warehouse.stock.get",
        },
    )
    return response.status, await response.json()


async def test_mcp_arguments_nested_past_the_validator_are_audited(gateway: Gateway) -> None:
    status, answer = await raw_tools_call(gateway, material(400))
    assert status == 200
    problem = answer["result"]["_meta"]["dev.lastmile/problem"]
    assert (problem["status"], problem["code"]) == (400, "malformed_json")
    [event] = await gateway.audit(request_id=problem["request_id"])
    assert (event.protocol, event.outcome) == ("mcp", "malformed_json")


@pytest.mark.parametrize(
    "arguments",
    [material(600), material(940), material(1200), material(3500, closed=False)],
    ids=["600", "940", "1200", "3500-unterminated"],
)
async def test_an_mcp_message_nested_past_the_parser_is_a_parse_error(
    gateway: Gateway, arguments: str
) -> None:
    """Past :data:`MAX_DEPTH` the message itself is refused: a JSON-RPC parse error
    (there is no call yet to audit), never a 500. Depth 940 used to parse and then blow
    the recursion limit while the arguments were encoded again."""
    status, answer = await raw_tools_call(gateway, arguments)
    assert (status, answer["error"]["code"]) == (400, -32700)
    assert await gateway.audit() == []
