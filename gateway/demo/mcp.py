"""Demo chapter: an agent host connects over MCP (Streamable HTTP, revision 2026-07-28).

Plain JSON-RPC on the wire, so the story shows what an MCP client sends: each request
is self-contained (its version and capabilities in ``_meta``, repeated in headers), no
session. The calls take the same guarded path as REST and land in the same audit trail.
"""

from __future__ import annotations

import json
from typing import Any

from gateway.demo.session import DEMO_KEYS, DemoContext, DemoFailed

VERSION = "2026-07-28"
STOCK = {"material": "100235", "plant": "1000"}


async def rpc(demo: DemoContext, agent: str, method: str, params: dict[str, Any]) -> Any:
    """One MCP request as ``agent``; the JSON-RPC result, or DemoFailed on a protocol error."""
    params = {
        **params,
        "_meta": {
            "io.modelcontextprotocol/protocolVersion": VERSION,
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": {"name": "lastmile-demo", "version": "1"},
        },
    }
    headers = {
        "Authorization": f"Bearer {DEMO_KEYS[agent]}",
        "Accept": "application/json, text/event-stream",
        "MCP-Protocol-Version": VERSION,
        "Mcp-Method": method,
    }
    if method == "tools/call":
        headers["Mcp-Name"] = params["name"]
        demo.invocations += 1
    body = {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}
    async with demo.http.post(demo.gateway_url + "/mcp", json=body, headers=headers) as response:
        answer = await response.json(content_type=None)
    if response.status != 200 or "result" not in answer:
        raise DemoFailed(f"MCP {method} answered HTTP {response.status}: {json.dumps(answer)}")
    return answer["result"]


async def play(demo: DemoContext) -> None:
    demo.step("an agent host connects over MCP  POST /mcp  server/discover")
    discover = await rpc(demo, "inventory-bot", "server/discover", {})
    demo.say(f"   server {discover['serverInfo']['name']} speaks {discover['supportedVersions']}")

    demo.step("inventory-bot lists its tools  tools/list")
    listed = await rpc(demo, "inventory-bot", "tools/list", {})
    for tool in listed["tools"]:
        hints = [k.removesuffix("Hint") for k, v in tool["annotations"].items() if v]
        demo.say(f"   {tool['name']:<22} ({tool['title']}) {', '.join(hints)}")
    if "warehouse_goods_movements_create" in {t["name"] for t in listed["tools"]}:
        raise DemoFailed("tools/list offered a write that inventory-bot may not call")

    demo.step("inventory-bot calls a tool  tools/call warehouse_stock_get")
    read = await rpc(
        demo, "inventory-bot", "tools/call", {"name": "warehouse_stock_get", "arguments": STOCK}
    )
    if read["isError"]:
        raise DemoFailed(f"the read failed: {read['content'][0]['text']}")
    demo.say(f"   structuredContent {json.dumps(read['structuredContent'])}")

    demo.step("a wrong argument comes back as a tool error the model can act on")
    wrong = await rpc(
        demo,
        "inventory-bot",
        "tools/call",
        {"name": "warehouse_stock_get", "arguments": {"material": "100235", "plant": "main"}},
    )
    if not wrong["isError"]:
        raise DemoFailed("an invalid plant was accepted")
    for line in wrong["content"][0]["text"].splitlines():
        demo.say(f"   {line}")
