"""What an agent built on LangChain sees of ``/mcp``; run by test_mcp_langchain.py in the
LangChain virtualenv (``.venv-langchain``: langchain-mcp-adapters needs the MCP SDK 1.x,
the gateway's tests use 2.x), so it imports nothing of ours and prints one JSON document.

Usage: ``python langchain_probe.py URL KEY TOOL READ_ARGS BAD_ARGS`` (arguments as JSON).
No model is called: the tools are converted as ``ChatOpenAI.bind_tools`` converts them.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Any

from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from langchain_mcp_adapters.client import MultiServerMCPClient


async def probe(url: str, key: str, tool: str, read: Any, bad: Any) -> dict[str, Any]:
    client = MultiServerMCPClient(
        {
            "lastmile": {
                "transport": "streamable_http",
                "url": url,
                "headers": {"Authorization": f"Bearer {key}"},
            }
        }
    )
    tools: dict[str, BaseTool] = {t.name: t for t in await client.get_tools()}
    return {
        "openai": [convert_to_openai_tool(t) for t in tools.values()],
        "read": await _outcome(tools[tool], read),
        "bad": await _outcome(tools[tool], bad),
    }


async def _outcome(tool: BaseTool, arguments: Any) -> dict[str, Any]:
    """The ``ToolMessage`` an agent loop hands back to the model for one tool call."""
    call = {"type": "tool_call", "id": "call_1", "name": tool.name, "args": arguments}
    message = await tool.ainvoke(call)
    content = message.content
    blocks = content if isinstance(content, list) else [{"type": "text", "text": content}]
    text = "\n".join(b["text"] for b in blocks if isinstance(b, dict) and b.get("type") == "text")
    return {"status": message.status, "text": text}


if __name__ == "__main__":
    url, key, tool, read, bad = sys.argv[1:6]
    document = asyncio.run(probe(url, key, tool, json.loads(read), json.loads(bad)))
    print(json.dumps(document))
