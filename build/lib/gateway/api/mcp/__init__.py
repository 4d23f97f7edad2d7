"""The MCP face of the gateway: JSON-RPC methods (``protocol``), the Streamable HTTP
transport at ``/mcp`` (``http``) and the stdio transport (``stdio``).

Import the modules themselves; this package imports nothing, so that
``gateway.config`` can import ``gateway.api.mcp.config`` without a cycle.
"""
