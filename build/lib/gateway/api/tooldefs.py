"""Tool definitions built from the catalog: MCP tools and vendors' function-calling formats.

One catalog entry becomes one tool, whichever way an agent host discovers it: the MCP
server lists :func:`mcp_tool`, and ``lastmile tools export`` prints the same tools in
OpenAI's or Anthropic's function-calling shape. Schemas have their ``$ref``s inlined,
because several hosts (and the LLMs behind them) handle ``$defs`` poorly.

Function-calling names may not contain dots, so ``warehouse.stock.get`` is exported as
``warehouse-stock-get``. Operation names never contain ``-``, so :func:`operation_name`
maps an exported name back without ambiguity.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from schemas.api import CatalogEntry
from schemas.common import Effect

JsonObject = dict[str, Any]

META_PREFIX = "dev.lastmile/"
"""Our ``_meta`` keys are namespaced by reverse DNS, as MCP asks of every extension key."""


def inline_refs(schema: JsonObject) -> JsonObject:
    """The schema with every local ``#/$defs/...`` reference replaced by its definition.

    Pydantic emits ``$defs`` for nested models and enums; our models are not recursive,
    so inlining terminates. A recursive reference is left as it is, with its ``$defs``.
    """
    defs: JsonObject = schema.get("$defs", {})
    recursive = False

    def resolve(node: Any, seen: tuple[str, ...]) -> Any:
        nonlocal recursive
        if isinstance(node, list):
            return [resolve(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            if name in seen or name not in defs:
                recursive = True
                return node
            merged = {**resolve(defs[name], (*seen, name))}
            merged.update({k: resolve(v, seen) for k, v in node.items() if k != "$ref"})
            return merged
        return {k: resolve(v, seen) for k, v in node.items() if k != "$defs"}

    inlined: JsonObject = resolve(schema, ())
    if recursive and defs:
        inlined["$defs"] = defs
    return inlined


def function_name(operation: str) -> str:
    """The function-calling name of an operation: ``[a-zA-Z0-9_-]``, as vendors require."""
    return operation.replace(".", "-")


def operation_name(function: str) -> str:
    """The operation behind a function-calling name from :func:`function_name`."""
    return function.replace("-", ".")


def _summary(entry: CatalogEntry) -> str:
    """What the MCP annotations say, in words, for formats that have no annotations."""
    effect = (
        "reads only" if entry.effect is Effect.READ else "changes the system of record (a write)"
    )
    repeat = "safe to repeat" if entry.idempotent else "not safe to repeat blindly"
    return (
        f"{entry.description}\n\nGateway operation {entry.name!r} on {entry.backend}: {effect}, "
        f"{repeat}, risk {entry.risk.value}."
    )


def mcp_tool(entry: CatalogEntry) -> JsonObject:
    """An MCP ``Tool``: schemas both ways and annotations derived from the operation.

    ``openWorldHint`` is false: a tool touches only its own system of record, a closed
    domain, not the open web. ``destructiveHint`` marks every write, since the gateway
    cannot tell an additive write from one that overwrites.
    """
    return {
        "name": entry.name,
        "title": entry.name,
        "description": entry.description,
        "inputSchema": inline_refs(entry.input_schema),
        "outputSchema": inline_refs(entry.output_schema),
        "annotations": {
            "readOnlyHint": entry.effect is Effect.READ,
            "destructiveHint": entry.effect is Effect.WRITE,
            "idempotentHint": entry.idempotent,
            "openWorldHint": False,
        },
        "_meta": {
            META_PREFIX + "effect": entry.effect.value,
            META_PREFIX + "risk": entry.risk.value,
            META_PREFIX + "backend": entry.backend,
            META_PREFIX + "owner": entry.owner,
        },
    }


def openai_tool(entry: CatalogEntry) -> JsonObject:
    """OpenAI function calling (Chat Completions ``tools`` entry). ``strict`` stays off:
    strict mode demands every property be required, and our optional fields are not."""
    return {
        "type": "function",
        "function": {
            "name": function_name(entry.name),
            "description": _summary(entry),
            "parameters": inline_refs(entry.input_schema),
            "strict": False,
        },
    }


def anthropic_tool(entry: CatalogEntry) -> JsonObject:
    """Anthropic Messages API tool definition."""
    return {
        "name": function_name(entry.name),
        "description": _summary(entry),
        "input_schema": inline_refs(entry.input_schema),
    }


FORMATS: dict[str, Callable[[Iterable[CatalogEntry]], Any]] = {
    "openai": lambda entries: [openai_tool(e) for e in entries],
    "anthropic": lambda entries: [anthropic_tool(e) for e in entries],
    "mcp": lambda entries: {"tools": [mcp_tool(e) for e in entries]},
}
"""Export format name → builder of the whole document from the agent's catalog entries."""
