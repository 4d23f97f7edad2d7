"""Sample data for the contract tests, derived from the XSD rather than from the models.

A valid sample is built from each type's facets (a value of the right length, matching
its pattern, with the allowed digits, from its enumeration); the violations then break
one restriction each (one character too many, one decimal too many, a value outside the
enumeration, a missing required field, two branches of a choice). The generated test
checks that the models accept the first and reject every one of the others, so a
restriction lost between XSD and model shows up as a failing test.
"""

from __future__ import annotations

import copy
import re
import re._parser as sre  # type: ignore[import-not-found]
from dataclasses import dataclass
from typing import Any

from adapters.codegen.modelplan import ClassPlan, FieldPlan
from adapters.codegen.pytypes import base_python, translate_patterns
from adapters.codegen.xsd import SimpleType

MAX_DEPTH = 4
MAX_VIOLATIONS = 6
_DIGITS = {"long", "int", "short", "byte", "integer"}


@dataclass(slots=True)
class Violation:
    reason: str
    data: dict[str, Any]


class _Budget:
    def __init__(self, fields: int) -> None:
        self.fields = fields
        self.polymorphic = False  # a subtype stands in for an abstract type somewhere


def sample_case(plan: ClassPlan) -> tuple[dict[str, Any], bool]:
    """A valid instance, and whether it holds a subtype in an abstract type's place (which
    a SOAP client can only send with an ``xsi:type``)."""
    budget = _Budget(150)
    return sample(plan, 0, budget), budget.polymorphic


def sample(plan: ClassPlan, depth: int = 0, budget: _Budget | None = None) -> dict[str, Any]:
    """A valid instance: required fields always, optional ones while depth and budget last."""
    budget = budget or _Budget(150)
    chosen_out = _unchosen_branches(plan)
    forced = _required_first_branches(plan)
    data: dict[str, Any] = {}
    for fp in plan.all_fields():
        if fp.name in chosen_out:
            continue
        wanted = fp.required or fp.name in forced
        wanted = wanted or (depth < MAX_DEPTH and budget.fields > 0 and fp.complex is None)
        wanted = wanted or (depth < 2 and budget.fields > 0)
        if not wanted:
            continue
        value = _field_value(fp, depth, budget)
        if value is _SKIP or (value in ({}, [{}]) and not fp.required):
            if fp.required:
                raise Unsampleable(f"{plan.name}.{fp.name}")
            continue  # nothing to say, or an empty record (which zeep reads back as None)
        budget.fields -= 1
        data[fp.alias] = value
    _fill_required_choices(plan, data, depth, budget)
    if not data:
        # An empty element reads back as None (zeep) and says little: fill one leaf.
        for fp in plan.all_fields():
            value = _field_value(fp, MAX_DEPTH, budget) if fp.complex is None else _SKIP
            if fp.name not in chosen_out and value is not _SKIP:
                data[fp.alias] = value
                break
    return data


class Unsampleable(Exception):
    """No valid sample can be built (a required field of an abstract or recursive type)."""


_SKIP = object()


def _required_first_branches(plan: ClassPlan) -> set[str]:
    """The fields of each required choice's first branch: optional as fields (any branch
    may be the one given), yet one branch must be, however deep the type sits."""
    return {
        name
        for branches, required, _single in plan.all_choices()
        if required
        for name in branches[0]
    }


def _fill_required_choices(
    plan: ClassPlan, data: dict[str, Any], depth: int, budget: _Budget
) -> None:
    """Give each required choice left empty (its first branch could not be sampled) the
    first branch that can be, or give up on the class."""
    fields = {fp.name: fp for fp in plan.all_fields()}
    for branches, required, _single in plan.all_choices():
        present = any(fields[n].alias in data for branch in branches for n in branch)
        if not required or present:
            continue
        for branch in branches:
            values = {fields[n].alias: _field_value(fields[n], depth, budget) for n in branch}
            if all(v is not _SKIP for v in values.values()):
                data.update(values)
                break
        else:
            raise Unsampleable(f"{plan.name}: no branch of a required choice")


def _unchosen_branches(plan: ClassPlan) -> set[str]:
    out: set[str] = set()
    for branches, _required, _single in plan.all_choices():
        for branch in branches[1:]:
            out.update(branch)
    return out


def _field_value(fp: FieldPlan, depth: int, budget: _Budget) -> Any:
    if fp.complex is not None:
        if fp.union and not fp.required:
            return _SKIP  # a subtype in a base's place needs xsi:type; tests cover unions
        budget.polymorphic = budget.polymorphic or bool(fp.union)
        target = fp.union[0] if fp.union else fp.complex
        if target.abstract:
            return _SKIP
        if depth >= MAX_DEPTH + 2:
            return _SKIP
        try:
            one: Any = sample(target, depth + 1, budget)
        except (Unsampleable, RecursionError):
            return _SKIP
    elif fp.simple is not None:
        one = simple_value(fp.simple)
        if one is _SKIP:
            return _SKIP
    else:
        return _SKIP
    if fp.max_occurs != 1:
        return [copy.deepcopy(one) for _ in range(max(1, fp.min_occurs))]
    return one


def simple_value(simple: SimpleType) -> Any:
    """A JSON value valid for ``simple``, or ``_SKIP`` if we cannot make one."""
    if simple.builtin == "list":
        item = simple_value(simple.item) if simple.item else _SKIP
        return _SKIP if item is _SKIP else [item] * max(1, simple.facets.min_length or 1)
    if simple.builtin == "union":
        return simple_value(simple.members[0]) if simple.members else "x"
    facets = simple.facets
    python = base_python(simple.builtin)
    if facets.enumeration:
        value = facets.enumeration[0]
        if python == "int":
            return int(value)
        if python == "bool":
            return value in ("true", "1")
        return value if python == "str" else _SKIP
    if python == "str":
        return _string(simple)
    if python == "int":
        low = _number(facets.min_inclusive) or _number(facets.min_exclusive)
        return max(1, int(low) + 1) if low is not None else 1
    if python == "Decimal":
        places = facets.fraction_digits if facets.fraction_digits is not None else 2
        return "1" if places == 0 else "1." + "5" * min(places, 2)
    return {
        "bool": True,
        "float": 1.5,
        "date": "2024-01-31",
        "datetime": "2024-01-31T12:30:00",
        "time": "12:30:00",
        "bytes": "AQID",
        "Any": "x",
    }.get(python, _SKIP)


def _number(text: str | None) -> float | None:
    try:
        return float(text) if text is not None else None
    except ValueError:
        return None


def _string(simple: SimpleType) -> Any:
    facets = simple.facets
    low = facets.length or facets.min_length or 1
    high = facets.length or facets.max_length or max(low, 8)
    if facets.patterns:
        pattern = translate_patterns(facets.patterns[-1])
        if pattern is None:
            return _SKIP
        for size in range(low, min(high, low + 12) + 1):
            candidate = from_regex(pattern, size)
            if candidate is not None and re.fullmatch(pattern, candidate):
                return candidate
        return _SKIP
    return ("ABCDEFGHIJ" * (low // 10 + 1))[: max(low, min(high, 4))]


def from_regex(pattern: str, target: int) -> str | None:
    """A string matching ``pattern``, trying to reach ``target`` characters."""
    try:
        parsed = sre.parse(pattern)
    except re.error:
        return None
    try:
        return _emit(list(parsed), target)
    except (ValueError, TypeError, IndexError):
        return None


def _emit(items: list[Any], target: int) -> str:
    out = ""
    for op, arg in items:
        name = str(op)
        if name == "LITERAL":
            out += chr(arg)
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        elif name == "ANY":
            out += "a"
        elif name == "IN":
            out += _class_char(arg)
        elif name in ("MAX_REPEAT", "MIN_REPEAT"):
            low, high, inner = arg
            count = low
            while count < high and len(out) + (count + 1) <= target and count < low + target:
                count += 1
            out += "".join(_emit(list(inner), 1) for _ in range(count))
        elif name == "SUBPATTERN":
            out += _emit(list(arg[-1]), target - len(out))
        elif name == "BRANCH":
            out += _emit(list(arg[1][0]), target - len(out))
        elif name == "CATEGORY":
            out += _category(str(arg))
        else:
            raise ValueError(name)
    return out


def _class_char(items: list[Any]) -> str:
    negate = False
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif negate:
            continue
        elif name == "LITERAL":
            return chr(arg)
        elif name == "RANGE":
            return chr(arg[0])
        elif name == "CATEGORY":
            return _category(str(arg))
    if negate:
        excluded = "".join(chr(a) for o, a in items if str(o) == "LITERAL")
        return next(c for c in "aZ09_" if c not in excluded)
    raise ValueError("empty class")


def _category(name: str) -> str:
    return {"CATEGORY_DIGIT": "1", "CATEGORY_SPACE": " ", "CATEGORY_NOT_WORD": "!"}.get(name, "a")


def violations(plan: ClassPlan, valid: dict[str, Any]) -> list[Violation]:
    """Copies of ``valid`` that each break one restriction the models must enforce."""
    found = [Violation("unknown field", {**valid, "__not_in_schema__": 1})]
    found += _field_violations(plan, valid, ())
    return found[:MAX_VIOLATIONS]


def _field_violations(
    plan: ClassPlan, valid: dict[str, Any], path: tuple[str | int, ...]
) -> list[Violation]:
    out: list[Violation] = []
    root_data = valid
    for branches, _required, single in plan.all_choices():
        present = [b for b in branches if any(alias_of(plan, n) in _at(root_data, path) for n in b)]
        if single and present and len(branches) > 1:
            other = next(b for b in branches if b is not present[0])
            fp = next(f for f in plan.all_fields() if f.name == other[0])
            value = _field_value(fp, MAX_DEPTH, _Budget(20))
            if value is not _SKIP:
                out.append(
                    Violation("two branches of a choice", _set(valid, (*path, fp.alias), value))
                )
    for fp in plan.all_fields():
        here = _at(valid, path)
        if fp.alias not in here:
            continue
        if fp.required and not fp.nillable:
            out.append(Violation(f"{fp.alias} missing", _delete(valid, (*path, fp.alias))))
        value = here[fp.alias]
        target = (*path, fp.alias, 0) if isinstance(value, list) and value else (*path, fp.alias)
        if fp.simple is not None:
            bad = break_simple(fp.simple)
            if bad is not None:
                reason, broken = bad
                out.append(Violation(f"{fp.alias}: {reason}", _set(valid, target, broken)))
        elif fp.complex is not None and isinstance(_at(valid, target), dict) and len(path) < 6:
            out += _field_violations(fp.complex, valid, target)
    return out


def alias_of(plan: ClassPlan, name: str) -> str:
    return next((f.alias for f in plan.all_fields() if f.name == name), name)


def break_simple(simple: SimpleType) -> tuple[str, Any] | None:
    """A value that breaks one of ``simple``'s restrictions, with the reason."""
    facets = simple.facets
    python = base_python(simple.builtin)
    if facets.enumeration and python == "str":
        return "not in the enumeration", "__not_an_allowed_value__"
    if python == "str" and (facets.length or facets.max_length) is not None:
        high = facets.length or facets.max_length or 0
        return f"longer than {high}", "9" * (high + 1)
    if python == "str" and facets.patterns:
        pattern = translate_patterns(facets.patterns[-1])
        if pattern is not None:
            for candidate in ("!", "x!", " ", "-"):
                if not re.fullmatch(pattern, candidate):
                    return "does not match the pattern", candidate
    if python == "Decimal" and facets.fraction_digits is not None:
        return f"more than {facets.fraction_digits} decimals", "1." + "1" * (
            facets.fraction_digits + 1
        )
    if python == "Decimal" and facets.total_digits is not None:
        return f"more than {facets.total_digits} digits", "1" * (facets.total_digits + 1)
    if python == "int" and simple.builtin in _DIGITS | {"unsignedInt", "nonNegativeInteger"}:
        return "not an integer", "1"  # strict: a string is not an integer
    return None


def _at(data: Any, path: tuple[str | int, ...]) -> Any:
    for key in path:
        data = data[key]
    return data


def _set(data: dict[str, Any], path: tuple[str | int, ...], value: Any) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    _at(copied, path[:-1])[path[-1]] = value
    return copied


def _delete(data: dict[str, Any], path: tuple[str | int, ...]) -> dict[str, Any]:
    copied = copy.deepcopy(data)
    del _at(copied, path[:-1])[path[-1]]
    return copied
