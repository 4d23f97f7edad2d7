"""Tool definitions built from the catalog: MCP tools and vendors' function-calling formats.

One catalog entry becomes one tool, whichever way an agent host discovers it: the MCP
server lists :func:`mcp_tool`, and ``lastmile tools export`` prints the same tools in
OpenAI's (Chat Completions or Responses) or Anthropic's function-calling shape. Schemas
have their ``$ref``s inlined, because several hosts (and the LLMs behind them) handle
``$defs`` poorly.

Every shape names a tool by the catalog entry's ``tool_name`` (``warehouse_stock_get``,
see :mod:`gateway.tool_names`); the MCP tool keeps the dotted operation name in ``title``
and ``_meta``. OpenAI's shapes are strict (:mod:`gateway.api.strict_schema`); Anthropic's
and MCP's carry the input schema as the models define it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from gateway.api.strict_schema import NotStrict, strict_parameters
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
        "name": entry.tool_name,
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
            META_PREFIX + "operation": entry.name,
            META_PREFIX + "effect": entry.effect.value,
            META_PREFIX + "risk": entry.risk.value,
            META_PREFIX + "backend": entry.backend,
            META_PREFIX + "owner": entry.owner,
        },
    }


def openai_function(entry: CatalogEntry) -> JsonObject:
    """An OpenAI function definition, strict whenever the input schema allows it.

    Strict mode guarantees the model's arguments fit the schema; a schema with no strict
    form (see :class:`~gateway.api.strict_schema.NotStrict`) is sent as it is, non-strict.
    """
    schema = inline_refs(entry.input_schema)
    try:
        parameters, strict = strict_parameters(schema), True
    except NotStrict:
        parameters, strict = schema, False
    return {
        "name": entry.tool_name,
        "description": _summary(entry),
        "parameters": parameters,
        "strict": strict,
    }


def openai_tool(entry: CatalogEntry) -> JsonObject:
    """OpenAI Chat Completions ``tools`` entry: the function nested under ``function``."""
    return {"type": "function", "function": openai_function(entry)}


def openai_responses_tool(entry: CatalogEntry) -> JsonObject:
    """OpenAI Responses API ``tools`` entry: the same function, flat."""
    return {"type": "function", **openai_function(entry)}


def anthropic_tool(entry: CatalogEntry) -> JsonObject:
    """Anthropic Messages API tool definition."""
    return {
        "name": entry.tool_name,
        "description": _summary(entry),
        "input_schema": inline_refs(entry.input_schema),
    }


FORMATS: dict[str, Callable[[Iterable[CatalogEntry]], Any]] = {
    "openai": lambda entries: [openai_tool(e) for e in entries],
    "openai-responses": lambda entries: [openai_responses_tool(e) for e in entries],
    "anthropic": lambda entries: [anthropic_tool(e) for e in entries],
    "mcp": lambda entries: {"tools": [mcp_tool(e) for e in entries]},
}
"""Export format name → builder of the whole document from the agent's catalog entries."""
