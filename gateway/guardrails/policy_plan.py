"""What one operation's decisions need: the policies that could apply to it, and the parts
of the context their conditions read.

Why: Cedar's cost per decision grows with the policies it evaluates and, most of all,
with the context it reads from JSON (``bench/guardrails_decide.py``: reading a goods
movement's whole context is about 60 of a 100 µs evaluation). Both are fixed per
operation once the policies are loaded, so the engine works them out then:

- a policy whose action or resource scope cannot match an operation (its action, that
  action's ``read``/``write`` group, its backend) never matches a call of it, and never
  errors on one either (Cedar checks the scope before the conditions), so it is left out
  of that operation's policy set. Which scopes match is asked of Cedar itself at load
  time, with the scopes alone, so ``==``, ``in``, lists and ``is`` keep Cedar's meaning;
- a condition observes the context only through the attribute paths it names
  (``context.input.kind``, ``context.request has on_behalf_of``): the context is built
  with just those paths, whole below the last attribute named. A policy that uses
  ``context`` any other way (``if … then context else {}``) makes its operation read
  the whole context.

Evaluating the smaller set on the smaller context gives Cedar's answer for the whole set
on the whole context: the policies left out match nothing, and the ones kept see the very
values they would have seen. The equivalence is also tested over generated calls
(``tests/gateway/guardrails/test_policy_plan.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import cedarpy
from pydantic import BaseModel

from adapters.base import Operation
from gateway.guardrails.cedar import (
    Needs,
    Shape,
    operation_attributes,
    project,
    request_attributes,
)

_CONTEXT = {"Var": "context"}


@dataclass(frozen=True, slots=True)
class OperationPlan:
    """One operation's policy set (``None``: no policy can apply, nothing to evaluate)
    and how to build the part of its context those policies read."""

    rule_ids: tuple[str, ...]
    matchers: cedarpy.PolicySet | None
    needs: Needs
    input_shape: Shape
    operation: Mapping[str, Any]

    def context(
        self, payload: BaseModel, *, when: datetime, on_behalf_of: str | None, dry_run: bool
    ) -> dict[str, Any]:
        """The call's Cedar context, projected onto :attr:`needs`."""
        sections = ("input", "operation", "request") if self.needs is None else self.needs
        context: dict[str, Any] = {}
        if "input" in sections:
            context["input"] = self.input_shape.value(payload)
        if "operation" in sections:
            context["operation"] = self.operation
        if "request" in sections:
            request = request_attributes(when, on_behalf_of=on_behalf_of, dry_run=dry_run)
            context["request"] = project(
                request, None if self.needs is None else self.needs["request"]
            )
        return context


def plan_operations(
    matchers: Mapping[str, dict[str, Any]],
    operations: Iterable[Operation],
    shapes: Mapping[str, Shape],
    entities: cedarpy.Entities,
) -> dict[str, OperationPlan]:
    """A plan per operation. ``matchers`` are the engine's policies (Cedar JSON, every
    one a ``permit``) by id; ``entities`` hold the action groups the scopes refer to."""
    scopes = _policy_set(
        {
            rule_id: {
                "effect": "permit",
                "principal": {"op": "All"},
                "action": body["action"],
                "resource": body["resource"],
                "conditions": [],
            }
            for rule_id, body in matchers.items()
        }
    )
    plans: dict[str, OperationPlan] = {}
    for op in operations:
        probe = {
            "principal": {"type": "Agent", "id": "scope probe"},
            "action": {"type": "Action", "id": op.name},
            "resource": {"type": "Backend", "id": op.backend},
            "context": {},
        }
        result = cedarpy.is_authorized(probe, scopes, entities)
        if result.diagnostics.errors:  # a scope cannot error; if one did, keep them all
            ids = list(matchers)
        else:
            reasons = set(result.diagnostics.reasons)
            ids = [i for i in matchers if i in reasons]
        needs = context_needs(matchers[i] for i in ids)
        shape = shapes[op.name]
        operation = operation_attributes(op)
        plans[op.name] = OperationPlan(
            rule_ids=tuple(ids),
            matchers=_policy_set({i: matchers[i] for i in ids}) if ids else None,
            needs=needs,
            input_shape=shape if needs is None else shape.restricted(needs.get("input", {})),
            operation=project(operation, None if needs is None else needs.get("operation", {})),
        )
    return plans


def _policy_set(policies: Mapping[str, dict[str, Any]]) -> cedarpy.PolicySet:
    document = {"staticPolicies": dict(policies), "templates": {}, "templateLinks": []}
    return cedarpy.PolicySet.from_json_str(json.dumps(document))


def context_needs(policies: Iterable[Mapping[str, Any]]) -> Needs:
    """What the conditions of these policies (Cedar JSON) can read of the context."""
    reads = _Reads()
    for policy in policies:
        for condition in policy.get("conditions", []):
            reads.visit(condition["body"])
    return None if reads.whole else reads.tree


class _Reads:
    """The context paths an expression reads, gathered while walking its Cedar JSON.

    Every ``context`` that is the base of a chain of attribute accesses reads the value
    at the end of the chain (whole, for ``.``; only its presence, for ``has``); any
    other ``context`` reads everything. The walk is deliberately generous: it visits
    every nested value, literals included, so it can only ever read too much."""

    def __init__(self) -> None:
        self.tree: dict[str, Any] = {}
        self.whole = False

    def visit(self, node: Any) -> None:
        if isinstance(node, list):
            for item in node:
                self.visit(item)
            return
        if not isinstance(node, dict):
            return
        if node == _CONTEXT:
            self.whole = True
            return
        access = _access(node)
        if access is not None:
            kind, left, attr = access
            path, base = _chain(left)
            if base == _CONTEXT:
                self._add([*path, attr], whole=kind == ".")
            else:
                self.visit(base)
            return
        for value in node.values():
            self.visit(value)

    def _add(self, path: Sequence[str], *, whole: bool) -> None:
        node: dict[str, Any] | None = self.tree
        for name in path[:-1]:
            assert node is not None  # noqa: S101 - checked below before descending
            child = node.setdefault(name, {})
            if child is None:
                return  # already read whole
            node = child
        assert node is not None  # noqa: S101 - as above
        if whole:
            node[path[-1]] = None
        else:
            node.setdefault(path[-1], {})


def _access(node: Mapping[str, Any]) -> tuple[str, Any, str] | None:
    """``(".", left, attr)`` or ``("has", left, attr)`` if ``node`` is an attribute
    access or test."""
    if len(node) != 1:
        return None
    ((kind, argument),) = node.items()
    if kind not in (".", "has") or not isinstance(argument, dict):
        return None
    if set(argument) != {"left", "attr"} or not isinstance(argument["attr"], str):
        return None
    return kind, argument["left"], argument["attr"]


def _chain(node: Any) -> tuple[list[str], Any]:
    """The attributes read in turn from a base expression (``a.b.c`` -> ``[b, c]``, ``a``)."""
    path: list[str] = []
    while isinstance(node, dict):
        access = _access(node)
        if access is None or access[0] != ".":
            break
        _, node, attr = access
        path.append(attr)
    path.reverse()
    return path, node
