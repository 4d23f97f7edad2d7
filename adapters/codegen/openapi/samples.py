"""Contract samples from the JSON Schemas themselves, not from the generated models.

A valid sample per model (required properties always, optional ones while depth and a
size budget last; values within length, pattern, enum, range and ``multipleOf``), and
broken copies that each break one named restriction. The generated contract test
checks the models accept the first and reject every other, so a constraint lost between
description and model fails a test.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from adapters.codegen.openapi.document import Node, OpenApiDocument, count
from adapters.codegen.openapi.schemas import Role, excluded, schema_types
from adapters.codegen.samples import from_regex

MAX_DEPTH = 4
MAX_VIOLATIONS = 8
UUID_SAMPLE = "123e4567-e89b-42d3-a456-426614174000"


class Unsampleable(Exception):
    """No valid sample can be built (a required recursive or open-ended value)."""


@dataclass(slots=True)
class Violation:
    reason: str
    data: dict[str, Any]


class Sampler:
    """Samples and violations for schemas of one document, in one role."""

    def __init__(
        self,
        doc: OpenApiDocument,
        tags: dict[int, tuple[str, list[str]]],
        relaxed: dict[int, set[str]],
    ) -> None:
        self.doc = doc
        self.tags = tags  # id(object schema) -> (discriminator property, its tags)
        self.relaxed = relaxed  # id(body schema) -> properties the runtime fills in
        self._budget = 0

    # -- valid samples -------------------------------------------------------------------

    def record(self, schema: Node, role: Role) -> dict[str, Any]:
        self._budget = 150
        value = self._object(schema, role, 0)
        return value

    def _properties(self, schema: Node) -> tuple[dict[str, Any], set[str]]:
        properties: dict[str, Any] = {}
        required: set[str] = set()
        for part in schema.get("allOf") or []:
            resolved, _ = self.doc.resolve(part)
            if isinstance(resolved, dict):
                more, needed = self._properties(resolved)
                properties.update(more)
                required |= needed
        if isinstance(schema.get("properties"), dict):
            properties.update(schema["properties"])
        if isinstance(schema.get("required"), list):
            required |= {r for r in schema["required"] if isinstance(r, str)}
        return properties, required

    def _visible(self, schema: Node, role: Role) -> tuple[dict[str, Any], set[str]]:
        properties, required = self._properties(schema)
        required -= self.relaxed.get(id(schema), set())
        shown = {}
        for alias, prop in properties.items():
            resolved, _ = self.doc.resolve(prop)
            if excluded(resolved if isinstance(resolved, dict) else {}, role):
                continue
            if isinstance(prop, dict) and excluded(prop, role):
                continue
            shown[str(alias)] = prop
        return shown, required

    def _object(self, schema: Node, role: Role, depth: int) -> dict[str, Any]:
        if depth > MAX_DEPTH + 3:
            raise Unsampleable("too deep")
        properties, required = self._visible(schema, role)
        tag = self.tags.get(id(schema))
        data: dict[str, Any] = {}
        for alias, prop in properties.items():
            needed = alias in required
            if not needed and (self._budget <= 0 or (depth >= 2 and not self._leaf(prop))):
                continue
            if not needed and depth >= MAX_DEPTH:
                continue
            if tag is not None and alias == tag[0]:
                data[alias] = tag[1][0]
                continue
            try:
                value = self.value(prop, role, depth + 1)
            except (Unsampleable, RecursionError):
                if needed:
                    raise
                continue
            self._budget -= 1
            data[alias] = value
        return data

    def _leaf(self, node: Any) -> bool:
        schema, _ = self.doc.resolve(node)
        types, _ = schema_types(schema) if isinstance(schema, dict) else ([], False)
        return bool(types) and types[0] in ("string", "integer", "number", "boolean")

    def value(self, node: Any, role: Role, depth: int) -> Any:
        schema, _ = self.doc.resolve(node)
        if not isinstance(schema, dict):
            return "x"
        while (
            isinstance(schema.get("allOf"), list)
            and len(schema["allOf"]) == 1
            and ("properties" not in schema)
        ):
            schema, _ = self.doc.resolve(schema["allOf"][0])
        types, _ = schema_types(schema)
        if self._is_record(schema):
            return self._object(schema, role, depth)
        variants = schema.get("oneOf") or schema.get("anyOf")
        if isinstance(variants, list) and variants:
            return self.value(variants[0], role, depth)
        if "object" in types:
            extra = schema.get("additionalProperties")
            if isinstance(extra, dict) and extra:
                return {"key": self.value(extra, role, depth + 1)}
            return {"key": "x"}
        if "array" in types:
            item = self.value(schema.get("items") or {}, role, depth + 1)
            low = schema.get("minItems") if isinstance(schema.get("minItems"), int) else 1
            return [copy.deepcopy(item) for _ in range(max(1, low))]
        return self.scalar(schema, types[0] if types else "")

    def _is_record(self, schema: Node) -> bool:
        if isinstance(schema.get("properties"), dict) and schema["properties"]:
            return True
        return any(
            isinstance(r, dict) and self._is_record(r)
            for r in (self.doc.resolve(p)[0] for p in schema.get("allOf") or [])
        )

    def scalar(self, schema: Node, kind: str) -> Any:
        enum = [v for v in schema.get("enum") or [] if v is not None]
        fmt = schema.get("format")
        if (
            enum
            and kind in ("integer", "number")
            and all(isinstance(v, int) and not isinstance(v, bool) for v in enum)
        ):
            return enum[0]
        if enum and kind == "string":
            first = enum[0]
            return ("true" if first else "false") if isinstance(first, bool) else str(first)
        if kind == "boolean":
            return True
        if kind == "string":
            if fmt in ("date", "date-time", "uuid"):
                return {"date": "2024-01-31", "date-time": "2024-01-31T12:30:00Z"}.get(
                    str(fmt), UUID_SAMPLE
                )
            if fmt == "decimal":
                return str(_number_sample(schema, integer=False))
            return _string(schema)
        if kind in ("integer", "number"):
            number = _number_sample(schema, integer=kind == "integer")
            return int(number) if number == number.to_integral_value() else float(number)
        return "x"

    # -- broken samples ------------------------------------------------------------------

    def violations(self, schema: Node, role: Role, valid: dict[str, Any]) -> list[Violation]:
        found = [Violation("unknown field", {**valid, "__not_in_schema__": 1})]
        found += self._broken(schema, role, valid, (), 0)
        return found[:MAX_VIOLATIONS]

    def _broken(
        self, schema: Node, role: Role, valid: dict[str, Any], path: tuple[Any, ...], depth: int
    ) -> list[Violation]:
        out: list[Violation] = []
        properties, required = self._visible(schema, role)
        here = _at(valid, path)
        for alias, prop in properties.items():
            if alias not in here:
                continue
            if alias in required:
                out.append(Violation(f"{alias} missing", _delete(valid, (*path, alias))))
            resolved, _ = self.doc.resolve(prop)
            if not isinstance(resolved, dict):
                continue
            value = here[alias]
            types, _ = schema_types(resolved)
            if "array" in types and isinstance(value, list) and value:
                high = resolved.get("maxItems")
                if isinstance(high, int):
                    longer = [copy.deepcopy(value[0]) for _ in range(high + 1)]
                    out.append(
                        Violation(
                            f"{alias}: more than {high} items", _set(valid, (*path, alias), longer)
                        )
                    )
                item, _ = self.doc.resolve(resolved.get("items") or {})
                if isinstance(item, dict) and not isinstance(value[0], dict | list):
                    bad = self.break_scalar(item)
                    if bad is not None:
                        out.append(
                            Violation(
                                f"{alias}[0]: {bad[0]}", _set(valid, (*path, alias, 0), bad[1])
                            )
                        )
                continue
            if isinstance(value, dict):
                if (
                    depth < 3
                    and self._is_record(resolved)
                    and alias != self.tags.get(id(schema), ("",))[0]
                ):
                    out += self._broken(resolved, role, valid, (*path, alias), depth + 1)
                continue
            bad = self.break_scalar(resolved)
            if bad is not None:
                out.append(Violation(f"{alias}: {bad[0]}", _set(valid, (*path, alias), bad[1])))
        return out

    def break_scalar(self, schema: Node) -> tuple[str, Any] | None:
        """A value breaking one of the scalar schema's restrictions, with the reason."""
        types, _ = schema_types(schema)
        kind = types[0] if types else ""
        fmt = schema.get("format")
        enum = [v for v in schema.get("enum") or [] if v is not None]
        if enum and kind == "string":
            return "not in the enum", "__not_an_allowed_value__"
        if kind == "string" and fmt in ("date", "date-time", "uuid"):
            return f"not a {fmt}", "not-a-" + str(fmt)
        if kind == "string" and fmt != "decimal":
            high = schema.get("maxLength")
            if isinstance(high, int) and not isinstance(high, bool):
                return f"longer than {high}", "9" * (high + 1)
            low = schema.get("minLength")
            if isinstance(low, int) and low > 0 and not schema.get("pattern"):
                return f"shorter than {low}", "9" * (low - 1)
            pattern = schema.get("pattern")
            if isinstance(pattern, str) and pattern:
                for candidate in ("!", "x!", " ", "-", "~~~"):
                    if not _search(pattern, candidate):
                        return "does not match the pattern", candidate
            return None
        if kind in ("integer", "number") or fmt == "decimal":
            as_text = kind == "string"
            for keyword, direction in (("maximum", 1), ("minimum", -1)):
                bound = _decimal(schema.get(keyword))
                if bound is not None:
                    broken = bound + direction * (_step(schema) or 1)
                    return f"beyond the {keyword} {bound}", _out(broken, kind, as_text)
            step = _step(schema)
            if step is not None:
                valid = _number_sample(schema, integer=kind == "integer")
                return f"not a multiple of {step}", _out(valid + step / 2, kind, as_text)
            if kind == "integer":
                return "not an integer", "1"
        return None


def _out(value: Decimal, kind: str, as_text: bool) -> Any:
    if as_text:
        return str(value)
    if kind == "integer" and value == value.to_integral_value():
        return int(value)
    return float(value)


def _decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        return Decimal(repr(value) if isinstance(value, float) else str(value))
    except InvalidOperation:
        return None


def _step(schema: Node) -> Decimal | None:
    step = _decimal(schema.get("multipleOf"))
    return step if step is not None and step > 0 else None


def _number_sample(schema: Node, *, integer: bool) -> Decimal:
    """1, or the smallest allowed value above the minimum, on the ``multipleOf`` grid."""
    low, high, step = (
        _decimal(schema.get("minimum")),
        _decimal(schema.get("maximum")),
        _step(schema),
    )
    exclusive_low = schema.get("exclusiveMinimum")
    if exclusive_low is not None and not isinstance(exclusive_low, bool):
        low, exclusive_low = _decimal(exclusive_low), True
    value = Decimal(1)
    if low is not None and (value < low or (value == low and exclusive_low is True)):
        value = low + (step or Decimal(1)) if exclusive_low is True else low
    if high is not None and value > high:
        value = high
    if step is not None and value % step != 0:
        value = (value // step + 1) * step
    if integer:
        value = value.to_integral_value()
    return value.normalize() if value != value.to_integral_value() else value.quantize(Decimal(1))


def _search(pattern: str, text: str) -> bool:
    try:
        return re.search(pattern, text) is not None
    except re.error:
        return True


def _string(schema: Node) -> str:
    low = count(schema.get("minLength"))
    low = 1 if low is None else low
    high = count(schema.get("maxLength"))
    high = max(low, 8) if high is None else high
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and pattern:
        for size in range(max(low, 1), min(high, low + 12) + 1):
            candidate = from_regex(pattern, size)
            if (
                candidate is not None
                and low <= len(candidate) <= high
                and _search(pattern, candidate)
            ):
                return candidate
        raise Unsampleable(f"pattern {pattern}")
    return ("ABCDEFGHIJ" * (low // 10 + 1))[: max(low, min(high, 4))]


def _at(data: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _set(data: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    _at(copied, path[:-1])[path[-1]] = value
    return copied


def _delete(data: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    del _at(copied, path[:-1])[path[-1]]
    return copied
