"""Refusals of hostile call options: refused precisely, and recorded like any refusal,
whichever face carried them (the official MCP SDK client, or REST headers)."""

from __future__ import annotations

import pytest

from tests.conftest import INVENTORY, Gateway
from tests.gateway.test_mcp_client import mcp_over_http

STOCK = {"material": "100234", "plant": "1000"}


@pytest.mark.parametrize(
    ("option", "code"),
    [
        ("dev.lastmile/onBehalfOf", "validation_failed"),
        ("dev.lastmile/idempotencyKey", "idempotency_key_invalid"),
    ],
)
async def test_a_trailing_newline_in_an_mcp_option_is_never_recorded(
    gateway: Gateway, option: str, code: str
) -> None:
    async with mcp_over_http(gateway, INVENTORY, "auto") as client:
        result = await client.call_tool("warehouse.stock.get", STOCK, meta={option: "maria\n"})
    [event] = await gateway.audit()
    assert event.outcome == code
    assert result.is_error is True
    assert event.on_behalf_of is None
    assert event.idempotency_key != "maria\n"


async def test_an_invalid_mcp_on_behalf_of_is_refused_and_audited(gateway: Gateway) -> None:
    async with mcp_over_http(gateway, INVENTORY, "auto") as client:
        result = await client.call_tool(
            "warehouse.stock.get", STOCK, meta={"dev.lastmile/onBehalfOf": "=cmd|x"}
        )
    assert result.is_error is True
    [event] = await gateway.audit()
    assert (event.outcome, event.on_behalf_of) == ("validation_failed", None)


async def test_an_invalid_dry_run_header_is_audited(gateway: Gateway) -> None:
    response = await gateway.invoke("warehouse.stock.get", STOCK, **{"X-Dry-Run": "maybe"})
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "header:X-Dry-Run"
    [event] = await gateway.audit()
    assert event.outcome == "validation_failed"
