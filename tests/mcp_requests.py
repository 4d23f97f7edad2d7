"""Raw MCP requests as a 2026-07-28 client sends them over HTTP, for tests that need to
set headers or ``_meta`` the SDK client does not let them choose."""

from __future__ import annotations

from typing import Any

MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"


def envelope(version: str = MODERN) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
    }


def tools_call(
    name: str, arguments: dict[str, Any], key: str, **meta: Any
) -> tuple[dict[str, Any], dict[str, str]]:
    """The body and headers of a stateless ``tools/call``; ``meta`` adds ``_meta`` keys."""
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments, "_meta": {**envelope(), **meta}},
    }
    headers = {
        "Authorization": f"Bearer {key}",
        "Accept": ACCEPT,
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": name,
    }
    return body, headers
