"""Generated calls for the Cedar engine, and the plain evaluation its answers must equal.

Shared by the equivalence test (``test_policy_plan.py``) and ``bench/guardrails_decide.py``:
the same spread of operations, agents, inputs, times and end users, so the figure the
bench reports is for the calls the test proves equivalent. The plain evaluation is the
engine's original one: every policy, the whole context, one ``cedarpy.is_authorized``.
"""

from __future__ import annotations

import json
import random
import types
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Union, get_args, get_origin

import cedarpy
from pydantic import BaseModel

from adapters.base import Operation
from gateway.guardrails.cedar import cedar_request
from gateway.guardrails.policy import PolicyEngine, Verdict
from gateway.identity import Agent
from gateway.pipeline import Call, CallRequest

# A Monday at 00:00 UTC; calls fall anywhere in the following two weeks
EPOCH = datetime(2026, 11, 30, tzinfo=UTC)
WORDS = ("scrap", "receipt", "issue", "open", "EUR", "USD", "acme", "x")


def sample(tp: Any, rng: random.Random) -> Any:
    """A value of type ``tp``: varied, with a few values that recur (as real inputs do)."""
    origin = get_origin(tp)
    if origin is Annotated:
        return sample(get_args(tp)[0], rng)
    if origin in (Union, types.UnionType):
        members = [a for a in get_args(tp) if a is not type(None)]
        if len(members) < len(get_args(tp)) and rng.random() < 0.3:
            return None
        return sample(rng.choice(members), rng)
    if origin in (list, set, frozenset, tuple):
        return [sample(get_args(tp)[0], rng) for _ in range(rng.randint(0, 3))]
    if origin is dict:
        return {}
    if not isinstance(tp, type):
        return None
    if issubclass(tp, bool):
        return rng.random() < 0.5
    if issubclass(tp, Enum):
        return rng.choice(list(tp))
    if issubclass(tp, str):
        return rng.choice(WORDS) if rng.random() < 0.3 else f"{rng.randint(0, 10**6):07d}"
    if issubclass(tp, int):
        return rng.randint(1, 500)
    if issubclass(tp, Decimal | float):
        return Decimal(rng.randint(1, 3_000_000)) / 100
    if issubclass(tp, datetime):
        return EPOCH + timedelta(seconds=rng.randint(0, 14 * 86400))
    if issubclass(tp, date):
        return date(2026, 1, 1) + timedelta(days=rng.randint(0, 365))
    if issubclass(tp, BaseModel):
        return sample_input(tp, rng)
    return None


def sample_input(model: type[BaseModel], rng: random.Random) -> BaseModel:
    """An input of ``model`` built without validation: only its types matter to Cedar."""
    return model.model_construct(
        **{name: sample(info.annotation, rng) for name, info in model.model_fields.items()}
    )


def sample_call(
    operation: Operation, agent: Agent, rng: random.Random, *, spread: timedelta
) -> Call:
    request = CallRequest(
        "bench",
        "rest",
        operation.name,
        None,  # type: ignore[arg-type]  # the input is set below, never read from here
        dry_run=rng.random() < 0.1,
    )
    call = Call(request, time=EPOCH + timedelta(seconds=rng.uniform(0, spread.total_seconds())))
    call.agent = agent
    call.operation = operation
    call.input = sample_input(operation.input_model, rng)
    call.on_behalf_of = rng.choice(("lea.fischer@acme.example", "ops@acme.example", None))
    return call


def generated_calls(
    operations: Sequence[Operation],
    agents: Sequence[Agent],
    rng: random.Random,
    count: int,
    *,
    write_share: float = 0.1,
    spread: timedelta = timedelta(days=14),
) -> list[Call]:
    """``count`` calls, a ``write_share`` of them writes, each by an agent whose
    allow-list admits the operation when one does (as ``CheckScope`` ensures), else by
    any agent."""
    reads = [op for op in operations if op.effect.value == "read"]
    writes = [op for op in operations if op.effect.value == "write"]
    calls = []
    for _ in range(count):
        operation = rng.choice(writes if writes and rng.random() < write_share else reads)
        admitted = [a for a in agents if a.may_call(operation.name) and not a.revoked]
        admitted = admitted or list(agents)
        calls.append(sample_call(operation, rng.choice(admitted), rng, spread=spread))
    return calls


@dataclass
class PlainEngine:
    """The engine's original evaluation, kept as the reference: all the policies (as
    permits) in one set, the whole context, one ``cedarpy.is_authorized`` per call."""

    engine: PolicyEngine

    def __post_init__(self) -> None:
        matchers = {i: {**r.body, "effect": "permit"} for i, r in self.engine.rules.items()}
        document = {"staticPolicies": matchers, "templates": {}, "templateLinks": []}
        self._matchers = cedarpy.PolicySet.from_json_str(json.dumps(document))
        self._order = {rule_id: n for n, rule_id in enumerate(self.engine.rules)}

    def decide(self, call: Call) -> tuple[Verdict, Verdict | None, list[str]]:
        """The verdicts and Cedar's evaluation errors."""
        assert call.agent is not None
        assert call.operation is not None
        assert call.input is not None
        engine = self.engine
        request = cedar_request(
            call.agent,
            call.operation,
            engine._shapes[call.operation.name],
            call.input,
            when=call.time,
            on_behalf_of=call.on_behalf_of,
            dry_run=call.dry_run,
        )
        result = cedarpy.is_authorized(request, self._matchers, engine._entities)
        ids = sorted(result.diagnostics.reasons, key=self._order.__getitem__)
        matched = [engine.rules[i] for i in ids] if result.allowed else []
        enforced = [r for r in matched if r.mode == "enforce"]
        verdict = engine._verdict(enforced, call.agent, call.operation)
        shadow = (
            engine._verdict(matched, call.agent, call.operation) if engine._has_shadow else None
        )
        return verdict, shadow, list(result.diagnostics.errors)
