"""Fields named as the schema names them, in every error an agent or engineer reads.

A generated model has snake_case Python names and the backend's names as aliases
(``extkey`` / ``EXTKEY``); the JSON Schema agents read advertises the aliases. Pydantic
reports an error at the key the input used, and the allowed fields would be the Python
names: both are translated here, walking nested models along the error's location.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo


def wire_name(name: str, field: FieldInfo) -> str:
    """The key a field travels under: its validation alias, its alias, or its name."""
    if isinstance(field.validation_alias, str):
        return field.validation_alias
    return field.alias or name


def wire_names(model: type[BaseModel]) -> list[str]:
    """The model's fields as its JSON Schema lists them, sorted."""
    return sorted(wire_name(name, field) for name, field in model.model_fields.items())


def wire_location(model: type[BaseModel], loc: tuple[int | str, ...]) -> tuple[int | str, ...]:
    """``loc`` with each field written as the schema names it (``customer.kunnr`` →
    ``CUSTOMER.KUNNR``). Parts that are not fields (list indexes, the member a union
    error names) stay as they are."""
    out: list[int | str] = []
    candidates: list[type[BaseModel]] = [model]
    for part in loc:
        if isinstance(part, int):
            out.append(part)
            continue
        tagged = [m for m in candidates if m.__name__ == part]
        if tagged and len(candidates) > 1:  # pydantic names the union member it tried
            out.append(part)
            candidates = tagged
            continue
        found = next((f for m in candidates if (f := _field(m, part)) is not None), None)
        if found is None:
            out.append(part)
            candidates = []
            continue
        name, field = found
        out.append(wire_name(name, field))
        candidates = list(_models_in(field.annotation))
    return tuple(out)


def model_at(model: type[BaseModel], loc: tuple[int | str, ...]) -> type[BaseModel] | None:
    """The model a location (as :func:`wire_location` writes it) points into, if any."""
    current: type[BaseModel] | None = model
    for part in loc:
        if current is None:
            return None
        if isinstance(part, int) or part == current.__name__:
            continue
        found = _field(current, part)
        current = next(_models_in(found[1].annotation), None) if found else None
    return current


def _field(model: type[BaseModel], key: str) -> tuple[str, FieldInfo] | None:
    fields = model.model_fields
    if key in fields:
        return key, fields[key]
    return next(((n, f) for n, f in fields.items() if wire_name(n, f) == key), None)


def _models_in(annotation: Any) -> Iterator[type[BaseModel]]:
    """The models inside a field's type: ``X``, ``list[X]``, ``X | None``, ``Annotated``."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        yield annotation
        return
    origin = typing.get_origin(annotation)
    if origin is None and not isinstance(annotation, types.UnionType):
        return
    for arg in typing.get_args(annotation):
        yield from _models_in(arg)
