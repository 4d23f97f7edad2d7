"""Which MCP revisions the gateway speaks, and how a request says which one it uses.

Two eras share one endpoint. The current revision (2026-07-28) is stateless: every
request carries its protocol version and client capabilities in ``params._meta``, and
over HTTP repeats version, method and tool name in headers. Earlier revisions open a
session with an ``initialize`` handshake that fixes the version for its lifetime.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping
from typing import Any

from gateway.api.mcp.jsonrpc import (
    HEADER_MISMATCH,
    INVALID_PARAMS,
    UNSUPPORTED_PROTOCOL_VERSION,
    JsonObject,
    RpcError,
)

MODERN_VERSIONS = ("2026-07-28",)
"""Revisions with the per-request envelope (no handshake, no sessions)."""

HANDSHAKE_VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26")
"""Revisions negotiated by ``initialize``, newest first."""

SUPPORTED_VERSIONS = (*MODERN_VERSIONS, *HANDSHAKE_VERSIONS)

ASSUMED_HANDSHAKE_VERSION = "2025-03-26"
"""What a session request without ``MCP-Protocol-Version`` is taken to speak (as the spec says)."""

META_PROTOCOL_VERSION = "io.modelcontextprotocol/protocolVersion"
META_CLIENT_CAPABILITIES = "io.modelcontextprotocol/clientCapabilities"
META_SERVER_INFO = "io.modelcontextprotocol/serverInfo"

NAME_BEARING = {"tools/call": "name", "prompts/get": "name", "resources/read": "uri"}
"""Methods whose target is mirrored in the ``Mcp-Name`` header."""


_BASE64_SENTINEL = re.compile(r"^=\?base64\?(?P<payload>.*)\?=$")


def header_value(value: str | None) -> str | None:
    """A header as the client meant it: values that do not fit in a header travel as
    ``=?base64?...?=``; a malformed one decodes to None, so it never matches by accident."""
    if value is None:
        return None
    match = _BASE64_SENTINEL.fullmatch(value)
    if match is None:
        return value
    try:
        return base64.b64decode(match["payload"], validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None


def envelope_version(params: Mapping[str, Any]) -> Any:
    """The protocol version a request's ``_meta`` envelope names, if it has one."""
    meta = params.get("_meta")
    return meta.get(META_PROTOCOL_VERSION) if isinstance(meta, Mapping) else None


def unsupported(requested: str) -> RpcError:
    return RpcError(
        UNSUPPORTED_PROTOCOL_VERSION,
        "Unsupported protocol version",
        {"supported": list(SUPPORTED_VERSIONS), "requested": requested[:100]},
    )


def check_envelope(method: str, params: JsonObject, headers: Mapping[str, str]) -> str:
    """The version of a 2026-07-28 request, after checking its envelope and its headers.

    ``headers`` have lower-case names (stdio clients get theirs from the relay, which
    copies them from the envelope). Rungs, first failure wins: the envelope is complete;
    the headers agree with the body (a client that disagrees with itself is told so
    before anything else); the version is ours.
    """
    meta = params.get("_meta")
    if not isinstance(meta, Mapping):
        raise RpcError(
            INVALID_PARAMS,
            f"params._meta must be an object carrying {META_PROTOCOL_VERSION!r} and "
            f"{META_CLIENT_CAPABILITIES!r}",
        )
    missing = [k for k in (META_PROTOCOL_VERSION, META_CLIENT_CAPABILITIES) if k not in meta]
    if missing:
        raise RpcError(
            INVALID_PARAMS, f"params._meta is missing the envelope key(s): {', '.join(missing)}"
        )
    version = meta[META_PROTOCOL_VERSION]
    if headers.get("mcp-protocol-version") != version:
        raise RpcError(
            HEADER_MISMATCH,
            "The MCP-Protocol-Version header does not match params._meta's protocol version",
        )
    if headers.get("mcp-method") != method:
        raise RpcError(HEADER_MISMATCH, "The Mcp-Method header does not match the method")
    key = NAME_BEARING.get(method)
    named = params.get(key) if key is not None else None
    if named is not None and header_value(headers.get("mcp-name")) != named:
        raise RpcError(HEADER_MISMATCH, f"The Mcp-Name header does not match params.{key}")
    if not isinstance(version, str):
        raise RpcError(INVALID_PARAMS, "The protocol version in params._meta must be a string")
    if version not in MODERN_VERSIONS:
        raise unsupported(version)
    return version


def negotiate(requested: Any) -> str:
    """The handshake answer to ``initialize``: the client's version if we speak it, else
    our newest handshake version (the client then decides whether to go on)."""
    if isinstance(requested, str) and requested in HANDSHAKE_VERSIONS:
        return requested
    return HANDSHAKE_VERSIONS[0]
