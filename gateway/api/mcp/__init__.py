"""The MCP face of the gateway: JSON-RPC methods (``protocol``), the Streamable HTTP
transport at ``/mcp`` (``http``), and stdio for hosts that launch their servers, relayed
to ``/mcp`` by ``lastmile mcp-stdio`` (``stdio`` and ``relay``, which import neither the
app nor ``protocol``, so the relay starts fast).

Import the modules themselves; this package imports nothing, so that
``gateway.config`` can import ``gateway.config.mcp`` without a cycle.
"""
