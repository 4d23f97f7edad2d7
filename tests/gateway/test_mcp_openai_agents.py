"""The OpenAI Agents SDK against ``/mcp`` on a real port, as an agent built on it would
connect: no model, but everything the SDK does before and after one. Its MCP server class
lists our tools and converts them to function tools in strict mode; the tools as the SDK
would send them to the Chat Completions and Responses APIs must have names and shapes
those APIs accept (checked with the ``openai`` SDK's own types); a read answers through
the SDK's tool invocation, and a bad call comes back as text a model can act on."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from agents import Agent, FunctionTool
from agents.mcp import MCPServerStreamableHttp
from agents.models.chatcmpl_converter import Converter as ChatCompletionsConverter
from agents.models.openai_responses import Converter as ResponsesConverter
from agents.run_context import RunContextWrapper
from agents.tool_context import ToolContext
from openai.types.chat import ChatCompletionFunctionToolParam
from openai.types.responses import FunctionToolParam
from pydantic import TypeAdapter

from schemas.patterns import TOOL_NAME, is_valid
from tests.conftest import INVENTORY, REPLENISH, Gateway
from tests.erp import SUPPORT, FinanceGateway

STOCK = {"material": "100234", "plant": "1000"}


@asynccontextmanager
async def agent_tools(client: Any, key: str) -> AsyncIterator[dict[str, FunctionTool]]:
    """The tools an Agents SDK agent with our MCP server would offer its model."""
    server = MCPServerStreamableHttp(
        params={"url": str(client.make_url("/mcp")), "headers": {"Authorization": f"Bearer {key}"}},
        name="lastmile",
    )
    async with server:
        agent = Agent(
            name="probe", mcp_servers=[server], mcp_config={"convert_schemas_to_strict": True}
        )
        tools = await agent.get_all_tools(RunContextWrapper(context=None))
        yield {tool.name: tool for tool in tools if isinstance(tool, FunctionTool)}


async def invoke(tool: FunctionTool, arguments: dict[str, Any]) -> Any:
    """What the SDK's run loop does with a model's function call."""
    text = json.dumps(arguments)
    context = ToolContext(None, tool_name=tool.name, tool_call_id="call_1", tool_arguments=text)
    return await tool.on_invoke_tool(context, text)


async def test_the_tools_the_model_would_receive_have_names_and_shapes_the_api_accepts(
    gateway: Gateway,
) -> None:
    async with agent_tools(gateway.client, REPLENISH) as tools:
        assert sorted(tools) == [
            "warehouse_goods_movements_create",
            "warehouse_items_get",
            "warehouse_stock_get",
        ]
        for tool in tools.values():
            assert is_valid(TOOL_NAME, tool.name)
            assert tool.strict_json_schema is True, f"{tool.name}: the SDK kept it non-strict"
            chat = ChatCompletionsConverter.tool_to_openai(tool)
            assert TypeAdapter(ChatCompletionFunctionToolParam).validate_python(chat) == chat
        responses = ResponsesConverter.convert_tools(list(tools.values()), []).tools
        assert [t["name"] for t in responses] == list(tools)  # type: ignore[typeddict-item]
        for tool_param in responses:
            assert TypeAdapter(FunctionToolParam).validate_python(tool_param) == tool_param


async def test_a_read_answers_and_a_bad_call_says_what_to_fix(gateway: Gateway) -> None:
    async with agent_tools(gateway.client, INVENTORY) as tools:
        answer = await invoke(tools["warehouse_stock_get"], STOCK)
        wrong = await invoke(tools["warehouse_stock_get"], {**STOCK, "plant": 1000})
    assert json.loads(answer["text"])["quantity"] == "125.000"
    text = wrong["text"]
    assert "(validation_failed)" in text
    assert "- plant: Input should be a valid string; expected a JSON string; received 1000" in text
    assert "inputSchema in tools/list" in text
    request_id = re.search(r"Request id: (req_[0-9a-f]+)\.", text)
    assert request_id is not None
    [event] = await gateway.audit(request_id=request_id[1])
    assert (event.protocol, event.operation, event.outcome) == (
        "mcp",
        "warehouse.stock.get",
        "validation_failed",
    )


async def test_a_search_with_the_nulls_a_strict_model_sends_is_answered(
    finance_gateway: FinanceGateway,
) -> None:
    async with agent_tools(finance_gateway.client, SUPPORT) as tools:
        search = tools["finance_customers_search"]
        assert search.strict_json_schema is True
        assert set(search.params_json_schema["required"]) == {"name", "country", "limit"}
        answer = await invoke(search, {"name": "*", "country": None, "limit": None})
    assert "(validation_failed)" not in str(answer)
    assert json.loads(answer["text"])["customers"]
