"""``null`` for an optional input field means the field is absent, at every level.

A model in OpenAI's strict mode must send every property and sends ``null`` for the ones
it means to leave out (our strict exports say so: see ``gateway/api/strict_schema.py``).
The gateway answers that exactly as if the field were missing, so its default applies;
a required field sent as ``null`` stays an error the agent is told about.

The input is validated in pydantic's JSON mode (a date is a ``"YYYY-MM-DD"`` string, a
decimal a number or numeric string) and any pydantic validator that sees Python objects
would lose that, so the nulls are taken out of the JSON text instead: only when the body
contains ``null`` at all, and losslessly (numbers keep their exact text).
"""

from __future__ import annotations

import json
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel


def nulls_as_absent(model: type[BaseModel], raw: bytes) -> bytes:
    """``raw`` without the ``null`` members that ``model`` (and the models nested in it)
    would take as absent; ``raw`` itself when there is none or it is not a JSON object."""
    if b"null" not in raw:
        return raw
    try:
        data = json.loads(raw, parse_float=_Number, parse_int=_Number)
    except (ValueError, RecursionError):
        return raw  # malformed: pydantic explains it
    if not isinstance(data, dict):
        return raw
    stripped, changed = _strip(model, data)
    if not changed:
        return raw
    try:
        return _encode(stripped).encode("utf-8")
    except RecursionError:
        return raw  # nested past what pydantic's parser accepts: it refuses the raw body


class _Number(str):
    """A JSON number kept as its text, so re-encoding cannot round it."""


@dataclass(frozen=True, slots=True)
class _Field:
    """What taking nulls out needs to know of one field, worked out once per model."""

    optional: bool
    nested: type[BaseModel] | None = None  # the model it holds, if any
    many: bool = False  # ... as the items of a list


def _strip(model: type[BaseModel], data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    fields = _fields_by_key(model)
    result: dict[str, Any] = {}
    changed = False
    for key, value in data.items():
        field = fields.get(key)
        if field is not None and value is None and field.optional:
            changed = True
            continue
        if field is not None and field.nested is not None:
            value, inner = _strip_nested(field, value)
            changed = changed or inner
        result[key] = value  # an unknown key stays: pydantic refuses it by name
    return result, changed


def _strip_nested(field: _Field, value: Any) -> tuple[Any, bool]:
    assert field.nested is not None  # noqa: S101 - the caller checked
    if not field.many and isinstance(value, dict):
        return _strip(field.nested, value)
    if field.many and isinstance(value, list):
        items = [_strip(field.nested, v) if isinstance(v, dict) else (v, False) for v in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    return value, False


@cache
def _fields_by_key(model: type[BaseModel]) -> Mapping[str, _Field]:
    """A model's fields under every key the input may use: name and aliases."""
    keys: dict[str, _Field] = {}
    for name, info in model.model_fields.items():
        nested = _nested_model(info.annotation)
        field = _Field(not info.is_required(), *(nested or (None, False)))
        keys[name] = field
        for alias in (info.alias, info.validation_alias):
            if isinstance(alias, str):
                keys[alias] = field
    return keys


def _nested_model(annotation: Any) -> tuple[type[BaseModel], bool] | None:
    """The one model a field holds: alone (``many`` false), or as the items of a list."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation, False
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Annotated:
        return _nested_model(args[0])
    if origin in (Union, types.UnionType):
        found = {nested for arg in args if (nested := _nested_model(arg)) is not None}
        return found.pop() if len(found) == 1 else None
    if origin in (list, tuple, Sequence) and args and set(args[1:]) <= {Ellipsis}:
        inner = _nested_model(args[0])
        return (inner[0], True) if inner is not None and not inner[1] else None
    return None


def _encode(value: Any) -> str:
    if isinstance(value, _Number):
        return str.__str__(value)
    if isinstance(value, dict):
        members = (f"{json.dumps(k)}:{_encode(v)}" for k, v in value.items())
        return "{" + ",".join(members) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_encode(item) for item in value) + "]"
    return json.dumps(value)
