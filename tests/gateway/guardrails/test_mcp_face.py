"""The guardrails seen through MCP with the official SDK client: a held write and a dry
run come back as tool errors an LLM can act on, and redaction applies to tool output."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from tests.conftest import INVENTORY, REPLENISH
from tests.gateway.guardrails.conftest import Guarded, movement
from tests.gateway.guardrails.test_dry_run import wms_documents

WRITE = "warehouse.goods_movements.create"


@asynccontextmanager
async def mcp_client(gateway: Guarded, key: str) -> AsyncIterator[Client]:
    url = str(gateway.client.make_url("/mcp"))
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {key}"})
    async with http, Client(streamable_http_client(url, http_client=http)) as client:
        yield client


def text_of(result: Any) -> str:
    return "\n".join(block.text for block in result.content)


async def test_a_held_write_is_a_tool_error_naming_the_approval(guarded: Guarded) -> None:
    async with mcp_client(guarded, REPLENISH) as client:
        result = await client.call_tool(
            WRITE, movement(quantity="150"), meta={"dev.lastmile/onBehalfOf": "lea.fischer"}
        )

    assert result.is_error is True
    text = text_of(result)
    assert "approval_required" in text
    assert "/v1/approvals/apr_" in text
    assert await wms_documents(guarded) == 0


async def test_a_dry_run_sends_nothing_and_says_so(guarded: Guarded) -> None:
    async with mcp_client(guarded, REPLENISH) as client:
        result = await client.call_tool(
            WRITE, movement(quantity="5"), meta={"dev.lastmile/dryRun": True}
        )

    assert result.is_error is True  # not the tool's output: nothing was done
    text = text_of(result)
    assert text.startswith("Dry run: nothing was sent")
    assert '"BWART": "101"' in text
    assert result.structured_content is None
    assert await wms_documents(guarded) == 0


async def test_tool_output_is_redacted_for_an_agent_without_the_scope(guarded: Guarded) -> None:
    async with mcp_client(guarded, INVENTORY) as client:
        result = await client.call_tool("warehouse.items.get", {"material": "100234"})

    assert result.is_error is False
    assert result.structured_content is not None
    assert result.structured_content["responsible_buyer"] == "[redacted:personal_contact]"
