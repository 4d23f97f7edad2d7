"""Input schemas in the subset of JSON Schema that OpenAI's strict mode accepts.

With ``strict: true`` a model's arguments are guaranteed to fit the schema, but only if
the schema keeps to a subset: every object lists all its properties in ``required`` and
sets ``additionalProperties: false``, and only the structural keywords below are allowed.
:func:`strict_parameters` rewrites an (inlined) pydantic input schema accordingly:

- an optional property becomes required *and* nullable; the gateway treats ``null`` for
  an optional field exactly as an absent one (``schemas.common.CanonicalModel``), so a
  model that sends ``null`` gets the default;
- every keyword outside :data:`STRUCTURAL` (``pattern``, ``format``, ``minLength``,
  ``maximum``, ``examples``, ``default``, ``x-sensitive``...) moves into the property's
  ``description`` in words, so the model still reads the rule the gateway enforces.

A schema that cannot be made strict without changing what it accepts (a map with
arbitrary keys, a recursive model) raises :class:`NotStrict`; the exporter then keeps
that one tool non-strict rather than promise a guarantee it cannot give.
"""

from __future__ import annotations

import json
from typing import Any

JsonObject = dict[str, Any]

STRUCTURAL = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "enum", "const", "anyOf"}
)
"""Keywords kept as keywords; ``description`` is kept too, and grows by what is moved."""

_DROPPED = frozenset({"title", "description"})
"""Not moved into the description: a title repeats the property's name."""

_NULL: JsonObject = {"type": "null"}


class NotStrict(ValueError):
    """The schema has a shape OpenAI's strict mode cannot express."""


def strict_parameters(schema: JsonObject) -> JsonObject:
    """The strict form of an input schema whose ``$ref``s are inlined (the root an object)."""
    if "$defs" in schema:
        raise NotStrict("the schema refers to itself (a recursive model)")
    if schema.get("type") != "object":
        raise NotStrict("the root of a strict schema must be an object")
    return _strict(schema, path="")


def _strict(node: JsonObject, path: str) -> JsonObject:
    if "$ref" in node:
        raise NotStrict(f"{path or 'the input'}: a reference left in place (a recursive model)")
    if "allOf" in node or "oneOf" in node or "not" in node:
        raise NotStrict(f"{path or 'the input'}: allOf/oneOf/not have no strict form")
    result: JsonObject = {k: v for k, v in node.items() if k in STRUCTURAL}
    notes = _notes(node)
    if notes and node.get("description"):
        notes = f"({notes})"
    if node.get("type") == "object" or "properties" in node:
        result.update(_strict_object(node, path))
    if isinstance(node.get("items"), dict):
        result["items"] = _strict(node["items"], f"{path}[]")
    if isinstance(node.get("anyOf"), list):
        result["anyOf"] = [_strict(variant, path) for variant in node["anyOf"]]
    description = " ".join(part for part in (node.get("description", ""), notes) if part)
    if description:
        result["description"] = description
    return result


def _strict_object(node: JsonObject, path: str) -> JsonObject:
    if node.get("additionalProperties", True) is not False:
        raise NotStrict(f"{path or 'the input'}: an object with arbitrary keys has no strict form")
    required = set(node.get("required", ()))
    properties: JsonObject = {}
    for name, schema in node.get("properties", {}).items():
        converted = _strict(schema, f"{path}.{name}" if path else name)
        properties[name] = converted if name in required else _nullable(converted, schema)
    return {
        "type": "object",
        "properties": properties,
        "required": list(properties),
        "additionalProperties": False,
    }


def _nullable(converted: JsonObject, original: JsonObject) -> JsonObject:
    """An optional property as strict mode has it: required, and ``null`` allowed."""
    if "default" in original and original["default"] is not None:
        hint = f"Optional: null means the default, {_json(original['default'])}."
    else:
        hint = "Optional: send null to leave it out."
    description = " ".join(p for p in (converted.pop("description", ""), hint) if p)
    if _accepts_null(converted):
        return {**converted, "description": description}
    kind = converted.get("type")
    if isinstance(kind, str) and "enum" not in converted and "const" not in converted:
        return {**converted, "type": [kind, "null"], "description": description}
    if set(converted) == {"anyOf"}:
        return {"anyOf": [*converted["anyOf"], _NULL], "description": description}
    return {"anyOf": [converted, _NULL], "description": description}


def _accepts_null(node: JsonObject) -> bool:
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_accepts_null(v) for v in node.get("anyOf", ()) if isinstance(v, dict))


_WORDS = {
    "minLength": "at least {} characters",
    "maxLength": "at most {} characters",
    "pattern": "matches the regular expression {}",
    "format": "format: {}",
    "minimum": "at least {}",
    "maximum": "at most {}",
    "exclusiveMinimum": "greater than {}",
    "exclusiveMaximum": "less than {}",
    "multipleOf": "a multiple of {}",
    "minItems": "at least {} items",
    "maxItems": "at most {} items",
    "uniqueItems": "items unique: {}",
    "x-sensitive": "sensitive ({}): shown only to agents holding that scope",
}


def _notes(node: JsonObject) -> str:
    """The keywords strict mode does not take, in words the model reads."""
    parts: list[str] = []
    for key, value in node.items():
        if key in STRUCTURAL or key in _DROPPED or key == "default":
            continue
        if key == "examples" and isinstance(value, list):
            parts.append("e.g. " + ", ".join(_json(v) for v in value))
        elif key == "minLength" and value == 1:
            parts.append("not empty")
        elif key in _WORDS:
            raw = isinstance(value, str) and key in ("pattern", "format", "x-sensitive")
            parts.append(_WORDS[key].format(value if raw else _json(value)))
        else:
            parts.append(f"{key}: {_json(value)}")
    return "; ".join(parts)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
