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
from functools import cache
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic import BaseModel
from pydantic.fields import FieldInfo


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


def _strip(model: type[BaseModel], data: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    fields = _fields_by_key(model)
    result: dict[str, Any] = {}
    changed = False
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            result[key] = value  # unknown: pydantic refuses it by name
        elif value is None and not field.is_required():
            changed = True
        else:
            result[key], inner = _strip_value(field.annotation, value)
            changed = changed or inner
    return result, changed


def _strip_value(annotation: Any, value: Any) -> tuple[Any, bool]:
    nested = _nested_model(annotation)
    if nested is None:
        return value, False
    model, many = nested
    if not many and isinstance(value, dict):
        return _strip(model, value)
    if many and isinstance(value, list):
        items = [_strip(model, item) if isinstance(item, dict) else (item, False) for item in value]
        return [item for item, _ in items], any(changed for _, changed in items)
    return value, False


@cache
def _fields_by_key(model: type[BaseModel]) -> Mapping[str, FieldInfo]:
    """A model's fields under every key the input may use: name and aliases."""
    keys: dict[str, FieldInfo] = {}
    for name, field in model.model_fields.items():
        keys[name] = field
        for alias in (field.alias, field.validation_alias):
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
