"""LangChain's MCP adapters against ``/mcp`` on a real port, as an agent built on LangChain
would connect: no model, but the tools converted as ``ChatOpenAI.bind_tools`` converts them,
one read and one bad call through LangChain's tool-call path.

langchain-mcp-adapters requires the MCP SDK 1.x (0.3.2 pins ``mcp<2``; 0.3.1 installs beside
2.x but fails to import), while these tests use 2.x; so LangChain runs in its own
virtualenv, ``.venv-langchain`` (``make langchain``, pinned by constraints-langchain.txt),
as ``tests/gateway/langchain_probe.py``, and its findings are checked here with the vendor
SDKs' own types.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from pathlib import Path
from typing import Any

import anthropic
import pytest
from anthropic.types import ToolParam
from openai.types.chat import ChatCompletionFunctionToolParam
from pydantic import TypeAdapter

from schemas.patterns import TOOL_NAME, is_valid
from tests.conftest import REPLENISH, Gateway

REPO = Path(__file__).resolve().parents[2]
PYTHON = REPO / ".venv-langchain" / "bin" / "python"
PROBE = Path(__file__).with_name("langchain_probe.py")
STOCK = {"material": "100234", "plant": "1000"}
PROBE_DEADLINE_S = 120  # a hang guard for the subprocess, not a timing assertion


@pytest.fixture
def langchain_python() -> Path:
    if not PYTHON.exists():
        if os.environ.get("LASTMILE_REQUIRE_SERVICES") == "1":
            pytest.fail(f"{PYTHON} is missing: run `make langchain`")
        pytest.skip("the LangChain virtualenv is missing (make langchain)")
    return PYTHON


async def probe(python: Path, gateway: Gateway, key: str, tool: str, bad: Any) -> Any:
    """Run the probe without blocking the loop the gateway under test serves on."""
    process = await asyncio.create_subprocess_exec(
        str(python),
        "-I",  # isolated: LangChain's environment only, none of ours
        str(PROBE),
        str(gateway.client.make_url("/mcp")),
        key,
        tool,
        json.dumps(STOCK),
        json.dumps(bad),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), PROBE_DEADLINE_S)
    assert process.returncode == 0, stderr.decode()
    return json.loads(stdout)


async def test_langchain_tools_have_names_and_schemas_the_model_apis_accept(
    langchain_python: Path, gateway: Gateway
) -> None:
    seen = await probe(langchain_python, gateway, REPLENISH, "warehouse_stock_get", STOCK)
    names = [tool["function"]["name"] for tool in seen["openai"]]
    assert sorted(names) == [
        "warehouse_goods_movements_create",
        "warehouse_items_get",
        "warehouse_stock_get",
    ]
    for tool in seen["openai"]:
        function = tool["function"]
        assert is_valid(TOOL_NAME, function["name"])
        assert TypeAdapter(ChatCompletionFunctionToolParam).validate_python(tool) == tool
        as_anthropic = {  # what langchain-anthropic's bind_tools makes of the same tool
            "name": function["name"],
            "description": function["description"],
            "input_schema": function["parameters"],
        }
        assert TypeAdapter(ToolParam).validate_python(as_anthropic) == as_anthropic
        anthropic.transform_schema(function["parameters"])


async def test_a_read_answers_and_a_bad_call_says_what_to_fix(
    langchain_python: Path, gateway: Gateway
) -> None:
    bad = {**STOCK, "plant": 1000}
    seen = await probe(langchain_python, gateway, REPLENISH, "warehouse_stock_get", bad)
    assert seen["read"]["status"] == "success"
    assert json.loads(seen["read"]["text"])["quantity"] == "125.000"
    assert seen["bad"]["status"] == "error"
    text = seen["bad"]["text"]
    assert "(validation_failed)" in text
    assert "- plant: Input should be a valid string; expected a JSON string; received 1000" in text
    request_id = re.search(r"Request id: (req_[0-9a-f]+)\.", text)
    assert request_id is not None
    [event] = await gateway.audit(request_id=request_id[1])
    assert (event.protocol, event.operation, event.outcome) == (
        "mcp",
        "warehouse.stock.get",
        "validation_failed",
    )
