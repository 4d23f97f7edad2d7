"""Redaction of fields marked ``Sensitive("category")`` in the schemas.

A plan is worked out once per model class from its fields' metadata (nested models,
lists and optionals included) and applied to the model's JSON form: a field whose
category the reader may not see is masked (``"[redacted:personal_contact]"``) or
dropped, as configured. Responses are redacted per agent scope (``may_see``); the
audit trail and logs hold no sensitive value at all (an empty scope).
"""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from schemas.common import Sensitive


@dataclass(frozen=True, slots=True)
class _Plan:
    """Where sensitive values sit: a category at this place, or plans for its parts."""

    category: str | None = None
    fields: Mapping[str, _Plan] | None = None
    items: _Plan | None = None


def _model_plan(model: type[BaseModel], seen: set[type[BaseModel]]) -> _Plan | None:
    if model in seen:
        return None  # a recursive model; its inner occurrences hold the same fields
    seen = seen | {model}
    fields: dict[str, _Plan] = {}
    for name, info in model.model_fields.items():
        category = next((m.category for m in info.metadata if isinstance(m, Sensitive)), None)
        plan = _Plan(category=category) if category else _type_plan(info.annotation, seen)
        if plan is not None:
            fields[info.alias or name] = plan
    return _Plan(fields=fields) if fields else None


def _type_plan(tp: Any, seen: set[type[BaseModel]]) -> _Plan | None:
    origin = get_origin(tp)
    if origin is Annotated:
        args = get_args(tp)
        category = next((m.category for m in args[1:] if isinstance(m, Sensitive)), None)
        return _Plan(category=category) if category else _type_plan(args[0], seen)
    if origin in (Union, types.UnionType):
        plans = [p for a in get_args(tp) if (p := _type_plan(a, seen)) is not None]
        return plans[0] if plans else None
    if origin in (list, set, frozenset, tuple):
        inner = [p for a in get_args(tp) if a is not Ellipsis and (p := _type_plan(a, seen))]
        return _Plan(items=inner[0]) if inner else None
    if origin is dict:
        args = get_args(tp)
        inner_plan = _type_plan(args[1], seen) if len(args) == 2 else None
        return _Plan(items=inner_plan) if inner_plan else None
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return _model_plan(tp, seen)
    return None


class Redactor:
    """Applies redaction plans; plans are cached per model class on this instance."""

    def __init__(self, mode: Literal["mask", "drop"] = "mask") -> None:
        self.mode = mode
        self._plans: dict[type[BaseModel], _Plan | None] = {}

    def categories(self, model: type[BaseModel]) -> set[str]:
        """Every sensitive category the model holds, at any depth."""
        found: set[str] = set()
        stack = [self._plan(model)]
        while stack:
            plan = stack.pop()
            if plan is None:
                continue
            if plan.category:
                found.add(plan.category)
            stack += [*(plan.fields or {}).values(), plan.items]
        return found

    def _plan(self, model: type[BaseModel]) -> _Plan | None:
        if model not in self._plans:
            self._plans[model] = _model_plan(model, set())
        return self._plans[model]

    def redact(
        self, model: type[BaseModel], data: Any, may_see: frozenset[str] = frozenset()
    ) -> Any:
        """``data`` (the model's JSON form) with what ``may_see`` does not cover redacted."""
        plan = self._plan(model)
        return data if plan is None else self._apply(plan, data, may_see)

    def _apply(self, plan: _Plan, data: Any, may_see: frozenset[str]) -> Any:
        if plan.fields is not None and isinstance(data, dict):
            result = {}
            for key, value in data.items():
                inner = plan.fields.get(key)
                if inner is None:
                    result[key] = value
                elif inner.category is not None:
                    if inner.category in may_see or value is None:
                        result[key] = value
                    elif self.mode == "mask":
                        result[key] = f"[redacted:{inner.category}]"
                else:
                    result[key] = self._apply(inner, value, may_see)
            return result
        if plan.items is not None:
            if isinstance(data, list):
                return [self._apply(plan.items, v, may_see) for v in data]
            if isinstance(data, dict):
                return {k: self._apply(plan.items, v, may_see) for k, v in data.items()}
        return data
