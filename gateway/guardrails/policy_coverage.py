"""Which backends no policy permits at all: a new backend's silent deny, found before start-up.

Evaluation is deny by default, so a backend added to ``gateway.yaml`` without a permit
answers every call with ``policy_denied``. ``lastmile check-config`` warns about such a
backend. The check reads each enforced ``permit``'s scope (Cedar's JSON form of
principal, action and resource) and ignores its conditions: a permit that could admit
some call to the backend counts, since whether its ``when`` holds depends on the call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from adapters.base import Operation
from gateway.guardrails.policy import Rule

_GROUPS = {"read": "READ", "write": "WRITE"}  # action groups, by the operation's effect


def unpermitted_backends(rules: Iterable[Rule], operations: Iterable[Operation]) -> list[str]:
    """The backends none of whose operations an enforced permit's scope admits, sorted."""
    ops = list(operations)
    permits = [r for r in rules if r.effect == "permit" and r.mode == "enforce"]
    permitted = {
        op.backend
        for op in ops
        if any(_admits(rule.body, op) for rule in permits)
    }  # fmt: skip
    return sorted({op.backend for op in ops} - permitted)


def _admits(body: Mapping[str, Any], op: Operation) -> bool:
    return _resource_admits(body.get("resource", {}), op.backend) and _action_admits(
        body.get("action", {}), op
    )


def _resource_admits(scope: Mapping[str, Any], backend: str) -> bool:
    op = scope.get("op", "All")
    if op in ("All", "is") and not scope.get("in"):
        return op == "All" or scope.get("entity_type") == "Backend"
    entities = _entities(scope)
    return any(e.get("type") == "Backend" and e.get("id") == backend for e in entities)


def _action_admits(scope: Mapping[str, Any], op: Operation) -> bool:
    if scope.get("op", "All") == "All":
        return True
    for entity in _entities(scope):
        name = str(entity.get("id", ""))
        if name == op.name or _GROUPS.get(name) == op.effect.name:
            return True
    return False


def _entities(scope: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The entities a scope names: ``== E``, ``in E``, ``in [E, F]``."""
    found: list[Mapping[str, Any]] = []
    for key in ("entity", "entities", "in"):
        value = scope.get(key)
        if isinstance(value, Mapping):
            found.append(value.get("entity", value))
        elif isinstance(value, list):
            found += [v for v in value if isinstance(v, Mapping)]
    return found
