"""JSON-RPC 2.0 as MCP uses it: message shapes, error codes, and the HTTP status of each.

Transport-neutral: the HTTP transport and the stdio relay both frame what this module builds.
"""

from __future__ import annotations

import json
import re
from typing import Any

JsonObject = dict[str, Any]
RequestId = str | int

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
INTERNAL_ERROR = -32603
HEADER_MISMATCH = -32020
UNSUPPORTED_PROTOCOL_VERSION = -32022

HTTP_STATUS = {
    PARSE_ERROR: 400,
    INVALID_REQUEST: 400,
    INVALID_PARAMS: 400,
    HEADER_MISMATCH: 400,
    UNSUPPORTED_PROTOCOL_VERSION: 400,
    METHOD_NOT_FOUND: 404,
}
"""The HTTP status the 2026-07-28 Streamable HTTP transport gives each code (else 200)."""


class RpcError(Exception):
    """A JSON-RPC error answer: the request could not be served as a protocol matter.

    Failures of the *call* (validation, policy, backend) are not these: they are tool
    results with ``isError`` set, so the model sees them and can correct itself.
    """

    def __init__(self, code: int, message: str, data: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data

    def to_wire(self) -> JsonObject:
        error: JsonObject = {"code": self.code, "message": self.message}
        if self.data is not None:
            error["data"] = self.data
        return error


MAX_DEPTH = 512
"""Deepest nesting a message may have. Tool arguments this deep can never validate (the
input validator stops near 200 levels, and says so in an audited ``malformed_json``);
the bound keeps every later walk of the message (re-encoding the arguments, building
the event) well inside Python's recursion limit, so depth is never a 500."""

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def parse(data: bytes | str) -> Any:
    """JSON as RFC 8259 and I-JSON (RFC 7493) have it, so that whatever it returns can be
    encoded again: ``NaN`` and ``Infinity`` are not JSON (Python accepts them), text must
    be UTF-8 without lone surrogates (Python decodes ``\\udc85`` and CESU bytes to a
    string that cannot be encoded), and nesting is bounded by :data:`MAX_DEPTH`. Every
    refusal is a :class:`ValueError`, which the transports answer as a parse error."""
    text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
    value = json.loads(text, parse_constant=_reject_constant)
    if text.count("[") + text.count("{") > MAX_DEPTH:  # a cheap bound on the depth
        _check_depth(value)
    if _SURROGATE_ESCAPE.search(text):
        json.dumps(value, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError if lone
    return value


def _check_depth(value: Any) -> None:
    """Walk the containers a level at a time, without recursion; too deep is a
    ValueError. Costs about as much as ``json.loads`` did, and runs only for messages
    with more than :data:`MAX_DEPTH` brackets."""
    level = [value] if isinstance(value, dict | list) else []
    for _ in range(MAX_DEPTH):
        if not level:
            return
        level = [
            child
            for node in level
            for child in (node.values() if isinstance(node, dict) else node)
            if isinstance(child, dict | list)
        ]
    if level:
        raise ValueError(f"nested deeper than {MAX_DEPTH} levels")


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def result_message(request_id: RequestId, result: JsonObject) -> JsonObject:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error_message(request_id: RequestId | None, error: RpcError) -> JsonObject:
    return {"jsonrpc": "2.0", "id": request_id, "error": error.to_wire()}


def request_id_of(message: Any) -> RequestId | None:
    """The id of a message, if it has a usable one (JSON-RPC ids are strings or integers)."""
    if isinstance(message, dict):
        rid = message.get("id")
        if isinstance(rid, str | int) and not isinstance(rid, bool):
            return rid
    return None


def is_notification(message: JsonObject) -> bool:
    """JSON-RPC 2.0 §4.1: a request without an ``id`` member is a notification."""
    return (
        "id" not in message
        and message.get("jsonrpc") == "2.0"
        and isinstance(message.get("method"), str)
    )


def is_response(message: JsonObject) -> bool:
    """A client's answer to a server request (we send none, so it is acknowledged and dropped)."""
    return "method" not in message and ("result" in message or "error" in message)


def check_request(message: Any) -> tuple[RequestId, str, JsonObject]:
    """The id, method and params of a request, or :class:`RpcError` ``INVALID_REQUEST``."""
    if isinstance(message, list):
        raise RpcError(
            INVALID_REQUEST, "Batches are not supported: send one JSON-RPC message per request."
        )
    if not isinstance(message, dict) or message.get("jsonrpc") != "2.0":
        raise RpcError(INVALID_REQUEST, "Send a JSON-RPC 2.0 object with jsonrpc: '2.0'.")
    rid = request_id_of(message)
    method = message.get("method")
    if rid is None or not isinstance(method, str):
        raise RpcError(
            INVALID_REQUEST, "A request needs an 'id' (string or integer) and a 'method' string."
        )
    params = message.get("params", {})
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise RpcError(INVALID_PARAMS, "'params' must be a JSON object.")
    return rid, method, params
