"""The MCP methods the gateway serves, whichever transport carried the request.

``tools/call`` builds the same :class:`~gateway.pipeline.Invocation` as ``POST
/v1/operations/{name}`` (protocol ``"mcp"``, the agent's bearer credentials, the tool
arguments as the input) and runs the same pipeline, so every guard and the audit apply
unchanged. What differs is only how the outcome is rendered: a success carries the
validated output as ``structuredContent``; a gateway error becomes a tool result with
``isError`` and a text an LLM can act on (the problem document rides in ``_meta``).

Options that REST takes from headers travel in ``params._meta`` under our own
reverse-DNS prefix: ``dev.lastmile/idempotencyKey``, ``dev.lastmile/dryRun`` and
``dev.lastmile/onBehalfOf`` (see docs/mcp.md).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gateway.api.mcp.jsonrpc import (
    INVALID_PARAMS,
    INVALID_REQUEST,
    METHOD_NOT_FOUND,
    JsonObject,
    RpcError,
)
from gateway.api.mcp.versions import (
    META_SERVER_INFO,
    MODERN_VERSIONS,
    SUPPORTED_VERSIONS,
    negotiate,
)
from gateway.api.problems import problem_document
from gateway.api.tooldefs import META_PREFIX, mcp_tool
from gateway.identity import Agent, AgentDirectory
from gateway.pipeline import Invocation, Pipeline
from gateway.registry import Registry
from schemas.errors import GatewayError, Unauthenticated, ValidationFailed

SERVER_INFO: JsonObject = {"name": "lastmile", "version": "0.1.0"}
INSTRUCTIONS = (
    "Each tool is an operation on a system of record, guarded by the lastmile gateway. "
    "A tool error's text says what went wrong and what to do instead; fix the arguments "
    "and call again, or tell the user when the text says a person must act."
)

META_IDEMPOTENCY_KEY = META_PREFIX + "idempotencyKey"
META_DRY_RUN = META_PREFIX + "dryRun"
META_ON_BEHALF_OF = META_PREFIX + "onBehalfOf"
META_REQUEST_ID = META_PREFIX + "requestId"
META_PROBLEM = META_PREFIX + "problem"

TOOLS_TTL_MS = 60_000
"""How long a client may cache a tool list: a stale list grants nothing, calls are checked."""

_ON_BEHALF_OF = re.compile(r"^[\w.@+:/-]{1,200}$")
_IDEMPOTENCY_KEY = re.compile(r"^[\x21-\x7e]{1,255}$")
_MAX_NAME = 200


@dataclass(slots=True)
class Exchange:
    """One JSON-RPC request as the transport received it."""

    request_id: str
    credentials: str | None
    protocol_version: str
    backend_ms: float | None = None

    @property
    def modern(self) -> bool:
        return self.protocol_version in MODERN_VERSIONS


class ToolArguments:
    """The MCP input source: the tool arguments, as the JSON the pipeline validates."""

    __slots__ = ("_raw",)

    def __init__(self, arguments: Mapping[str, Any]) -> None:
        self._raw = json.dumps(arguments, ensure_ascii=False).encode("utf-8")

    async def read(self) -> bytes:
        return self._raw


class McpHandler:
    """Answers MCP requests; raises :class:`RpcError` for protocol-level failures."""

    def __init__(self, registry: Registry, directory: AgentDirectory, pipeline: Pipeline) -> None:
        self._directory = directory
        self._pipeline = pipeline
        self._tools = {name: mcp_tool(entry) for name, entry in registry.catalog.items()}

    async def handle(self, method: str, params: JsonObject, ex: Exchange) -> JsonObject:
        if method == "tools/call":
            result = await self._call_tool(params, ex)
        elif method == "tools/list":
            result = self._list_tools(params, ex)
        elif method == "ping":
            result = {}
        elif method == "server/discover":
            result = {
                "supportedVersions": list(SUPPORTED_VERSIONS),
                "capabilities": _CAPABILITIES,
                "serverInfo": SERVER_INFO,
                "instructions": INSTRUCTIONS,
                "cacheScope": "public",
                "ttlMs": TOOLS_TTL_MS,
            }
        elif method == "initialize":
            raise RpcError(
                INVALID_REQUEST,
                "initialize opens a session and is answered by the transport; "
                "it cannot be sent inside one.",
            )
        else:
            raise RpcError(METHOD_NOT_FOUND, f"Method not found: {method[:100]}")
        if ex.modern:
            result.setdefault("resultType", "complete")
            result.setdefault("_meta", {})[META_SERVER_INFO] = SERVER_INFO
        return result

    def initialize(self, params: JsonObject) -> JsonObject:
        """The answer to a handshake-era ``initialize``; the transport keeps the version."""
        return {
            "protocolVersion": negotiate(params.get("protocolVersion")),
            "capabilities": _CAPABILITIES,
            "serverInfo": SERVER_INFO,
            "instructions": INSTRUCTIONS,
        }

    def authenticate(self, credentials: str | None) -> Agent:
        return self._directory.authenticate(credentials)

    def _list_tools(self, params: JsonObject, ex: Exchange) -> JsonObject:
        if params.get("cursor") is not None:
            raise RpcError(INVALID_PARAMS, "Unknown cursor: the tool list has a single page.")
        try:
            agent = self.authenticate(ex.credentials)
        except Unauthenticated as exc:
            raise RpcError(INVALID_REQUEST, exc.detail) from None
        tools = [tool for name, tool in self._tools.items() if agent.may_call(name)]
        result: JsonObject = {"tools": tools}
        if ex.modern:
            result.update(cacheScope="private", ttlMs=TOOLS_TTL_MS)
        return result

    async def _call_tool(self, params: JsonObject, ex: Exchange) -> JsonObject:
        name = params.get("name")
        if not isinstance(name, str) or not 0 < len(name) <= _MAX_NAME:
            raise RpcError(INVALID_PARAMS, "params.name must be a tool name (1-200 characters).")
        arguments = params.get("arguments")
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            raise RpcError(INVALID_PARAMS, "params.arguments must be a JSON object.")
        meta = params.get("_meta") or {}
        if not isinstance(meta, dict):
            raise RpcError(INVALID_PARAMS, "params._meta must be a JSON object.")
        inv = Invocation(
            request_id=ex.request_id,
            protocol="mcp",
            operation_name=name,
            credentials=ex.credentials,
            input_source=ToolArguments(arguments),
            on_behalf_of=_option(meta, META_ON_BEHALF_OF, _ON_BEHALF_OF),
            idempotency_key=_option(meta, META_IDEMPOTENCY_KEY, _IDEMPOTENCY_KEY),
            dry_run=_dry_run(meta),
        )
        await self._pipeline.run(inv)
        ex.backend_ms = inv.backend_ms
        if inv.error is not None:
            return tool_error(inv.error, ex.request_id, name)
        if inv.preview is not None:
            return _dry_run_result(inv.preview, ex.request_id)
        assert inv.output is not None  # noqa: S101 - a call without error has an output
        # what this agent may see: sensitive fields outside its scope are already redacted
        output = (
            inv.visible_output
            if inv.visible_output is not None
            else inv.output.model_dump(mode="json")
        )
        return {
            "content": [{"type": "text", "text": json.dumps(output, ensure_ascii=False)}],
            "structuredContent": output,
            "isError": False,
            "_meta": {META_REQUEST_ID: ex.request_id},
        }


def _dry_run_result(preview: JsonObject, request_id: str) -> JsonObject:
    """A dry run's report. It is marked ``isError`` on purpose: it is not the tool's
    output (which ``outputSchema`` describes, and clients validate), and an LLM must not
    mistake it for a done write; the text says plainly that nothing was sent."""
    report = {"dry_run": True, **preview}
    text = (
        "Dry run: nothing was sent to the backend and no budget was spent. What the call "
        "would do: " + json.dumps(report, ensure_ascii=False, default=str)
    )
    return {
        "content": [{"type": "text", "text": text}],
        "isError": True,
        "_meta": {META_REQUEST_ID: request_id, f"{META_PREFIX}dryRunReport": report},
    }


_CAPABILITIES: JsonObject = {"tools": {"listChanged": False}}


def _option(meta: Mapping[str, Any], key: str, pattern: re.Pattern[str]) -> str | None:
    value = meta.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not pattern.match(value):
        raise RpcError(
            INVALID_PARAMS,
            f"_meta[{key!r}] must be a string matching {pattern.pattern}.",
        )
    return value


def _dry_run(meta: Mapping[str, Any]) -> bool:
    value = meta.get(META_DRY_RUN, False)
    if not isinstance(value, bool):
        raise RpcError(INVALID_PARAMS, f"_meta[{META_DRY_RUN!r}] must be true or false.")
    return value


_MCP_HINTS = {
    "forbidden": "Over MCP, the tools you may call are exactly those tools/list returns.",
    "unknown_operation": "Over MCP, the tools you may call are exactly those tools/list returns.",
    "validation_failed": "The tool's inputSchema in tools/list describes the arguments.",
}
"""Details name REST routes (they are shared); this says where an MCP client looks instead."""


def tool_error(error: GatewayError, request_id: str, tool: str) -> JsonObject:
    """A gateway error as an MCP tool error: the model reads the text, programs the problem."""
    lines = [f"{error.title} ({error.code}): {error.detail}"]
    if isinstance(error, ValidationFailed):
        for field in error.errors:
            line = f"- {field.field}: {field.message}"
            if field.expected:
                line += f"; expected {field.expected}"
            if field.received is not None:
                line += f"; received {field.received}"
            lines.append(line)
    hint = _MCP_HINTS.get(error.code)
    if hint:
        lines.append(hint)
    if error.retryable:
        lines.append("This is transient: the same call may succeed if retried shortly.")
    lines.append(f"Request id: {request_id}.")
    return {
        "content": [{"type": "text", "text": "\n".join(lines)}],
        "isError": True,
        "_meta": {
            META_REQUEST_ID: request_id,
            META_PROBLEM: problem_document(error, request_id, f"tools/call {tool[:_MAX_NAME]}"),
        },
    }
