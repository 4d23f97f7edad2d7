"""The MCP stdio transport: newline-delimited JSON-RPC on standard input and output.

One process serves one agent host, so the agent is fixed at start (its key, given to
``lastmile mcp-stdio``) and the connection itself is the session: a handshake-era
client sends ``initialize`` once; a 2026-07-28 client puts the envelope in every
request. Nothing but MCP messages goes to stdout; logs go to stderr.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import structlog

from gateway.api.mcp.jsonrpc import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    JsonObject,
    RpcError,
    check_request,
    error_message,
    is_notification,
    is_response,
    parse,
    request_id_of,
    result_message,
)
from gateway.api.mcp.protocol import Exchange, McpHandler
from gateway.api.mcp.versions import (
    ASSUMED_HANDSHAKE_VERSION,
    MODERN_VERSIONS,
    check_envelope,
    envelope_version,
)
from gateway.api.middleware import new_request_id

log = structlog.get_logger("lastmile.mcp")

Write = Callable[[bytes], Awaitable[None]]


@dataclass(slots=True)
class Connection:
    credentials: str
    version: str | None = None  # set by initialize (handshake era)


async def serve(
    handler: McpHandler, credentials: str, reader: asyncio.StreamReader, write: Write
) -> None:
    """Answer messages in order until standard input ends."""
    connection = Connection(credentials)
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # a line longer than the reader's limit
            await _send(write, error_message(None, RpcError(PARSE_ERROR, "Message too large.")))
            continue
        if not line:
            return
        if not line.strip():
            continue
        reply = await answer(handler, connection, line)
        if reply is not None:
            await _send(write, reply)


async def _send(write: Write, message: JsonObject) -> None:
    await write(json.dumps(message, ensure_ascii=False).encode("utf-8") + b"\n")


async def answer(handler: McpHandler, connection: Connection, line: bytes) -> JsonObject | None:
    try:
        message: Any = parse(line)
    except (ValueError, RecursionError):
        return error_message(None, RpcError(PARSE_ERROR, "Parse error: the line is not JSON."))
    if isinstance(message, dict) and (is_response(message) or is_notification(message)):
        return None
    try:
        rid, method, params = check_request(message)
    except RpcError as exc:
        return error_message(request_id_of(message), exc)
    try:
        if envelope_version(params) is not None:
            version = check_envelope(method, params, None)
        elif method == "initialize":
            result = handler.initialize(params)
            connection.version = result["protocolVersion"]
            return result_message(rid, result)
        elif connection.version is not None:
            version = connection.version
        elif method == "ping":
            version = ASSUMED_HANDSHAKE_VERSION
        else:
            raise RpcError(
                INVALID_REQUEST,
                "Send initialize first, or use protocol version "
                f"{MODERN_VERSIONS[0]} with its envelope in params._meta.",
            )
        exchange = Exchange(new_request_id(), connection.credentials, version)
        return result_message(rid, await handler.handle(method, params, exchange))
    except RpcError as exc:
        return error_message(rid, exc)
    except Exception:
        log.exception("mcp_stdio_error", method=method[:100])
        return error_message(rid, RpcError(INTERNAL_ERROR, "The gateway failed unexpectedly."))
