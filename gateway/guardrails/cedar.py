"""The Cedar view of the gateway: a schema generated from the operation registry, and
the entities and request built for each call.

- principal: ``Agent::"<id>"`` with ``owner``, ``team``, ``environment``
- action: ``Action::"<operation name>"``, member of ``Action::"read"`` or ``Action::"write"``
- resource: ``Backend::"<backend name>"``
- context: ``input`` (the validated input, typed from its pydantic model; decimals as Cedar
  ``decimal``, dates and enums as strings, absent optionals left out), ``operation``
  (``effect``, ``risk``, ``idempotent``) and ``request`` (``time`` in epoch seconds,
  ``hour`` and ``weekday`` (1 = Monday) in UTC, ``dry_run``, optional ``on_behalf_of``).

Input fields whose type has no Cedar counterpart (free-form mappings) are left out of
both the schema and the context, so policies can never refer to them by mistake.

A context can be built *projected* onto the attributes the policies read (:data:`Needs`):
Cedar's cost per decision is dominated by reading the context, so an operation whose
policies read only ``context.input.kind`` is given only that (see
:mod:`gateway.guardrails.policy_plan`).
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_EVEN, Decimal
from enum import Enum
from typing import Any, Union, get_args, get_origin

from pydantic import BaseModel

from adapters.base import Operation
from gateway.identity import Agent

_FOUR_PLACES = Decimal("0.0001")

Needs = Mapping[str, "Needs"] | None
"""Which parts of a Cedar value are read: ``None`` the whole value; a mapping only those
attributes of a record, each with what is read of it (an empty mapping: only that the
value is there, which is what ``has`` asks)."""


def project(value: Any, needs: Needs) -> Any:
    """``value`` (Cedar JSON) with only the attributes in ``needs``; values that are not
    records (strings, sets, extension values) are kept whole."""
    if needs is None or not _is_record(value):
        return value
    return {name: project(value[name], inner) for name, inner in needs.items() if name in value}


def _is_record(value: Any) -> bool:
    return isinstance(value, dict) and "__extn" not in value and "__entity" not in value


@dataclass(frozen=True, slots=True)
class Shape:
    """A Cedar type, and how to turn a Python value into its Cedar JSON."""

    kind: str  # String | Long | Boolean | decimal | Record | Set
    attributes: Mapping[str, tuple[Shape, bool]] | None = None  # name -> (shape, required)
    element: Shape | None = None

    def schema(self) -> dict[str, Any]:
        if self.kind == "decimal":
            return {"type": "Extension", "name": "decimal"}
        if self.kind == "Record":
            assert self.attributes is not None  # noqa: S101 - built so
            return {
                "type": "Record",
                "attributes": {
                    name: {**shape.schema(), "required": required}
                    for name, (shape, required) in self.attributes.items()
                },
            }
        if self.kind == "Set":
            assert self.element is not None  # noqa: S101 - built so
            return {"type": "Set", "element": self.element.schema()}
        return {"type": self.kind}

    def restricted(self, needs: Needs) -> Shape:
        """The shape of ``project(self.value(v), needs)``: building only what is read
        is cheaper than building everything and dropping most of it."""
        if needs is None or self.kind != "Record":
            return self
        assert self.attributes is not None  # noqa: S101 - built so
        return Shape(
            "Record",
            {
                name: (shape.restricted(needs[name]), required)
                for name, (shape, required) in self.attributes.items()
                if name in needs
            },
        )

    def value(self, value: Any) -> Any:
        if self.kind == "decimal":
            quantized = Decimal(value).quantize(_FOUR_PLACES, rounding=ROUND_HALF_EVEN)
            return {"__extn": {"fn": "decimal", "arg": f"{quantized:f}"}}
        if self.kind == "Record":
            assert self.attributes is not None  # noqa: S101 - built so
            data = value.__dict__ if isinstance(value, BaseModel) else value
            return {
                name: shape.value(data[name])
                for name, (shape, _) in self.attributes.items()
                if data.get(name) is not None
            }
        if self.kind == "Set":
            assert self.element is not None  # noqa: S101 - built so
            return [self.element.value(v) for v in value]
        if self.kind == "String":
            return value.value if isinstance(value, Enum) else str(value)
        return value


def model_shape(model: type[BaseModel]) -> Shape:
    attributes: dict[str, tuple[Shape, bool]] = {}
    for name, info in model.model_fields.items():
        found = _type_shape(info.annotation)
        if found is not None:
            shape, optional = found
            attributes[name] = (shape, info.is_required() and not optional)
    return Shape("Record", attributes)


def _type_shape(tp: Any) -> tuple[Shape, bool] | None:
    """The shape of a Python type, and whether None is among its values."""
    origin = get_origin(tp)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) != 1:
            return None
        inner = _type_shape(members[0])
        return (inner[0], True) if inner else None
    if origin in (list, set, frozenset, tuple):
        args = [a for a in get_args(tp) if a is not Ellipsis]
        element = _type_shape(args[0]) if args else None
        return (Shape("Set", element=element[0]), False) if element else None
    if not isinstance(tp, type):
        return None
    if issubclass(tp, bool):
        return Shape("Boolean"), False
    if issubclass(tp, Enum | str | date | datetime):
        return Shape("String"), False
    if issubclass(tp, int):
        return Shape("Long"), False
    if issubclass(tp, Decimal | float):
        return Shape("decimal"), False
    if issubclass(tp, BaseModel):
        return model_shape(tp), False
    return None


def _string(required: bool = True) -> dict[str, Any]:
    return {"type": "String", "required": required}


def _record(**attributes: dict[str, Any]) -> dict[str, Any]:
    return {"type": "Record", "attributes": attributes}


def cedar_schema(operations: Iterable[Operation]) -> dict[str, Any]:
    """The Cedar schema (JSON form) for these operations, in the empty namespace."""
    actions: dict[str, Any] = {"read": {}, "write": {}}
    for op in sorted(operations, key=lambda o: o.name):
        actions[op.name] = {
            "memberOf": [{"id": op.effect.value}],
            "appliesTo": {
                "principalTypes": ["Agent"],
                "resourceTypes": ["Backend"],
                "context": _record(
                    input=model_shape(op.input_model).schema(),
                    operation=_record(
                        effect=_string(), risk=_string(), idempotent={"type": "Boolean"}
                    ),
                    request=_record(
                        time={"type": "Long"},
                        hour={"type": "Long"},
                        weekday={"type": "Long"},
                        dry_run={"type": "Boolean"},
                        on_behalf_of=_string(required=False),
                    ),
                ),
            },
        }
    return {
        "": {
            "entityTypes": {
                "Agent": {"shape": _record(owner=_string(), team=_string(), environment=_string())},
                "Backend": {},
            },
            "actions": actions,
        }
    }


def cedar_entities(agents: Iterable[Agent], backends: Iterable[str]) -> list[dict[str, Any]]:
    entities: list[dict[str, Any]] = [
        {
            "uid": {"type": "Agent", "id": agent.id},
            "attrs": {
                "owner": agent.owner,
                "team": agent.team or "",
                "environment": agent.environment,
            },
            "parents": [],
        }
        for agent in agents
    ]
    entities += [
        {"uid": {"type": "Backend", "id": b}, "attrs": {}, "parents": []} for b in backends
    ]
    return entities


def operation_attributes(op: Operation) -> dict[str, Any]:
    """``context.operation``: fixed for an operation."""
    return {"effect": op.effect.value, "risk": op.risk.value, "idempotent": op.idempotent}


def request_attributes(
    when: datetime, *, on_behalf_of: str | None, dry_run: bool
) -> dict[str, Any]:
    """``context.request``: the call's time (UTC), dry-run flag and end user."""
    request: dict[str, Any] = {
        "time": int(when.timestamp()),
        "hour": when.hour,
        "weekday": when.isoweekday(),
        "dry_run": dry_run,
    }
    if on_behalf_of is not None:
        request["on_behalf_of"] = on_behalf_of
    return request


def cedar_request(
    agent: Agent,
    op: Operation,
    shape: Shape,
    payload: BaseModel,
    *,
    when: datetime,
    on_behalf_of: str | None,
    dry_run: bool,
) -> dict[str, Any]:
    """The whole Cedar request of a call (every context attribute)."""
    return {
        "principal": {"type": "Agent", "id": agent.id},
        "action": {"type": "Action", "id": op.name},
        "resource": {"type": "Backend", "id": op.backend},
        "context": {
            "input": shape.value(payload),
            "operation": operation_attributes(op),
            "request": request_attributes(when, on_behalf_of=on_behalf_of, dry_run=dry_run),
        },
    }
