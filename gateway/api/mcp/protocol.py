"""The MCP methods the gateway serves, whichever transport carried the request.

``tools/call`` builds the same :class:`~gateway.pipeline.CallRequest` as ``POST
/v1/operations/{name}`` (protocol ``"mcp"``, the agent's bearer credentials, the tool
arguments as the input, the HTTP request's trace context) and runs the same pipeline,
so every guard and the audit apply unchanged, load shedding included. What differs is
only how the outcome is rendered: a success carries the validated output as
``structuredContent``; a gateway error becomes a tool result with ``isError`` and a
text an LLM can act on (the problem document rides in ``_meta``). A tool is named as
``tools/list`` names it (``warehouse_stock_get``) or by its dotted operation name; both
reach the same operation (see :mod:`gateway.tool_names`).

Options that REST takes from headers travel in ``params._meta`` under our own
reverse-DNS prefix: ``dev.lastmile/idempotencyKey``, ``dev.lastmile/dryRun`` and
``dev.lastmile/onBehalfOf`` (see docs/mcp.md).
"""

from __future__ import annotations

import json
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
from gateway.api.shedding import InFlight
from gateway.api.tooldefs import META_PREFIX, mcp_tool
from gateway.identity import Agent
from gateway.outcomes import Answered, Held, Previewed, final
from gateway.pipeline import CallRequest, Pipeline
from gateway.registry import Registry
from gateway.reload.in_force import ConfigInForce
from schemas.errors import FieldError, GatewayError, Unauthenticated, ValidationFailed

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

_MAX_NAME = 200


@dataclass(slots=True)
class Exchange:
    """One JSON-RPC request as the transport received it."""

    request_id: str
    credentials: str | None
    protocol_version: str
    trace_headers: Mapping[str, str] | None = None  # from the HTTP request, if any
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

    def __init__(
        self,
        registry: Registry,
        in_force: ConfigInForce,
        pipeline: Pipeline,
        in_flight: InFlight | None = None,
    ) -> None:
        self._in_force = in_force
        self._pipeline = pipeline
        self._in_flight = in_flight or InFlight(limit=None)
        self._tools = {name: mcp_tool(entry) for name, entry in registry.catalog.items()}
        self._names = registry.tool_names

    async def handle(self, method: str, params: JsonObject, ex: Exchange) -> JsonObject:
        if method == "tools/call":
            result = await self._call_tool(params, ex)
        elif method == "tools/list":
            result = await self._list_tools(params, ex)
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

    async def authenticate(self, credentials: str | None) -> Agent:
        return await self._in_force.current.agents.sign_in(credentials)

    async def _list_tools(self, params: JsonObject, ex: Exchange) -> JsonObject:
        if params.get("cursor") is not None:
            raise RpcError(INVALID_PARAMS, "Unknown cursor: the tool list has a single page.")
        try:
            agent = await self.authenticate(ex.credentials)
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
        request = CallRequest(
            request_id=ex.request_id,
            protocol="mcp",
            operation_name=self._names.operation(name),  # a tool name or the dotted one
            credentials=ex.credentials,
            input_source=ToolArguments(arguments),
            on_behalf_of=_text_option(meta, META_ON_BEHALF_OF),
            idempotency_key=_text_option(meta, META_IDEMPOTENCY_KEY),
            dry_run=meta.get(META_DRY_RUN) is True,
            trace_headers=ex.trace_headers,
            malformed=_malformed(meta),
        )
        overloaded = self._in_flight.enter()
        if overloaded is not None:
            return tool_error(overloaded, ex.request_id, name)
        try:
            call, outcome = await self._pipeline.run(request)
        finally:
            self._in_flight.leave()
        ex.backend_ms = call.backend_ms
        ending = final(outcome)
        if isinstance(ending, Answered):
            output = dict(ending.shown())  # sensitive fields outside its scope are redacted
            return {
                "content": [{"type": "text", "text": json.dumps(output, ensure_ascii=False)}],
                "structuredContent": output,
                "isError": False,
                "_meta": {META_REQUEST_ID: ex.request_id},
            }
        if isinstance(ending, Previewed):
            return _dry_run_result(dict(ending.report), ex.request_id)
        error = ending.as_error() if isinstance(ending, Held) else ending.error
        return tool_error(error, ex.request_id, name)


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


def _text_option(meta: Mapping[str, Any], key: str) -> str | None:
    """A string option as sent; the pipeline checks its form (and audits a refusal)."""
    value = meta.get(key)
    return value if isinstance(value, str) else None


def _malformed(meta: Mapping[str, Any]) -> tuple[FieldError, ...]:
    """Options of the wrong JSON type, refused inside the pipeline once the caller is known."""
    problems: list[FieldError] = []
    for key in (META_ON_BEHALF_OF, META_IDEMPOTENCY_KEY):
        value = meta.get(key)
        if value is not None and not isinstance(value, str):
            problems.append(_wrong_type(key, "a string", value))
    dry_run = meta.get(META_DRY_RUN)
    if dry_run is not None and not isinstance(dry_run, bool):
        problems.append(_wrong_type(META_DRY_RUN, "true or false", dry_run))
    return tuple(problems)


def _wrong_type(key: str, expected: str, value: object) -> FieldError:
    kind = {dict: "an object", list: "an array", bool: "a boolean", str: "a string"}
    received = kind.get(type(value), "a number" if isinstance(value, int | float) else "null")
    return FieldError(
        field=f"_meta.{key}", message="wrong type", expected=expected, received=received
    )


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
