"""Cedar policies, loaded once and validated against the schema generated from the registry.

Policy files are named in ``guardrails.policies``. Each policy may carry annotations:

- ``@id("...")``: a stable name, recorded in every decision it determines (default
  ``<file>:<n>``);
- ``@reason("...")``: the sentence agents and auditors read when it determines a decision;
- ``@decision("approval_required")`` on a ``forbid``: hold the call for a person instead
  of refusing it (default ``"deny"``);
- ``@mode("shadow")``: log only; the decision is recorded as ``shadow_decision`` and
  never enforced, so operators can calibrate a policy before switching it on.

Loading is all or nothing: every file is parsed and validated, and any problem raises
:class:`PolicyError` listing each file and reason, so a bad file never half-loads.
Evaluation is deny by default: a call nothing permits is denied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import cedarpy
import structlog

from adapters.base import Operation
from gateway.config import ConfigError
from gateway.guardrails.cedar import Shape, cedar_entities, cedar_schema, model_shape
from gateway.guardrails.policy_plan import OperationPlan, plan_operations
from gateway.identity import Agent
from gateway.pipeline import Call
from schemas.audit import Decision

log = structlog.get_logger("lastmile.policy")

BUILTIN = "builtin:"
_DECISIONS = {"deny", "approval_required"}
_MODES = {"enforce", "shadow"}
MEMO_SIZE = 4096
"""Decisions an engine keeps for reuse; the oldest goes first when it is full."""
_ENCODE = json.JSONEncoder(separators=(",", ":")).encode  # one encoder, not one per call


class PolicyError(ConfigError):
    """Policy files that cannot be used; ``problems`` has one line per file and reason."""


@dataclass(frozen=True, slots=True)
class Rule:
    id: str
    effect: str  # permit | forbid
    decision: str  # deny | approval_required (forbid only)
    mode: str  # enforce | shadow
    reason: str
    body: dict[str, Any] = field(repr=False, compare=False)


@dataclass(frozen=True, slots=True)
class Verdict:
    """A decision, the ids of the policies that determined it, and why, in words."""

    decision: Decision
    policy_ids: list[str]
    reasons: list[str]

    def copy(self) -> Verdict:
        return Verdict(self.decision, list(self.policy_ids), list(self.reasons))


@dataclass(frozen=True, slots=True)
class _Outcome:
    """What one evaluation decided, kept for the identical calls that follow."""

    verdict: Verdict
    shadow: Verdict | None
    errors: list[str]


def read_policy_file(name: str) -> tuple[str, str]:
    """``(display name, text)`` of a configured policy file."""
    if name.startswith(BUILTIN):
        base = name.removeprefix(BUILTIN)
        ref = resources.files("gateway").joinpath("defaults/policies").joinpath(base)
        try:
            return name, ref.read_text("utf-8")
        except OSError as exc:
            raise PolicyError(name, [f"{name}: no such built-in policy file"]) from exc
    try:
        return name, Path(name).read_text("utf-8")
    except OSError as exc:
        raise PolicyError(name, [f"{name}: cannot read: {exc.strerror}"]) from exc


class PolicyEngine:
    """Decides calls with Cedar; holds the parsed policies, schema and entities.

    One Cedar evaluation per call answers every question: the engine evaluates a copy of
    the policies in which every policy is a ``permit`` with its own conditions, so Cedar
    reports exactly the policies whose scope and conditions match the request (a policy
    that errors on the request matches nothing, as in Cedar). The verdict is then worked
    out from the matches with Cedar's semantics (a matching forbid wins; nothing
    permitted is a deny), separately for the policies in force and with shadow ones.

    Each operation is evaluated with only the policies whose scope can match it, on only
    the context attributes they read (:mod:`gateway.guardrails.policy_plan`): the same
    answer for less work. What Cedar then sees of a call is the agent, the operation and
    that projected context, so a decision is reused for a later call with the very same
    three (``memo_size`` of them, oldest out first): a read whose policies have no
    condition on the context is decided once per agent. A condition on the time puts the
    time in the projected context, hence in the key. The memo lives in the engine, and a
    reload builds a new engine.
    """

    def __init__(
        self,
        rules: Sequence[Rule],
        schema: dict[str, Any],
        operations: Iterable[Operation],
        agents: Iterable[Agent],
        *,
        memo_size: int = MEMO_SIZE,
    ) -> None:
        self.rules = {r.id: r for r in rules}
        self.schema_json = schema
        self._has_shadow = any(r.mode == "shadow" for r in rules)
        ops = list(operations)
        self._shapes: dict[str, Shape] = {op.name: model_shape(op.input_model) for op in ops}
        parsed_schema = cedarpy.Schema.from_json_str(json.dumps(schema))
        entities = cedar_entities(agents, sorted({op.backend for op in ops}))
        # with the schema, the action entities (and their read/write groups) are added
        self._entities = cedarpy.Entities.from_json_str(json.dumps(entities), parsed_schema)
        matchers = {r.id: {**r.body, "effect": "permit"} for r in rules}
        self._plans = plan_operations(matchers, ops, self._shapes, self._entities)
        self._order = {rule_id: n for n, rule_id in enumerate(self.rules)}
        self._memo: dict[tuple[str, str, str], _Outcome] = {}
        self._memo_size = memo_size
        self.memo_hits = 0  # for bench/guardrails_decide.py: how often reuse pays

    @classmethod
    def load(
        cls, files: Sequence[str], operations: Sequence[Operation], agents: Iterable[Agent]
    ) -> PolicyEngine:
        schema = cedar_schema(operations)
        problems: list[str] = []
        rules: list[Rule] = []
        for name in files:
            try:
                display, text = read_policy_file(name)
            except PolicyError as exc:
                problems += exc.problems
                continue
            found, errors = _parse_file(display, text, schema)
            rules += found
            problems += errors
        seen: set[str] = set()
        for rule in rules:
            if rule.id in seen:
                problems.append(f"policy id {rule.id!r} is used more than once")
            seen.add(rule.id)
        if problems:
            raise PolicyError(", ".join(files) or "policies", problems)
        return cls(rules, schema, operations, agents)

    def decide(self, call: Call) -> tuple[Verdict, Verdict | None]:
        """The enforced verdict and, when shadow policies exist, what they would decide."""
        assert call.agent is not None, "Identify runs first"  # noqa: S101
        assert call.operation is not None, "Resolve runs first"  # noqa: S101
        assert call.input is not None, "ValidateInput runs first"  # noqa: S101
        agent, op = call.agent, call.operation
        plan = self._plans[op.name]
        context = plan.context(
            call.input, when=call.time, on_behalf_of=call.on_behalf_of, dry_run=call.dry_run
        )
        key = (agent.id, op.name, _ENCODE(context))
        outcome = self._memo.get(key)
        if outcome is not None:
            self.memo_hits += 1
        else:
            outcome = self._evaluate(plan, agent, op, key[2])
            if self._memo_size > 0:
                if len(self._memo) >= self._memo_size:
                    self._memo.pop(next(iter(self._memo)), None)
                self._memo[key] = outcome
        if outcome.errors:
            # A policy that errors on this request does not apply (Cedar's semantics); the
            # errors are worth an operator's attention but never an agent's.
            log.warning("policy_evaluation_error", errors=outcome.errors[:5])
        shadow = outcome.shadow.copy() if outcome.shadow is not None else None
        return outcome.verdict.copy(), shadow

    def _evaluate(self, plan: OperationPlan, agent: Agent, op: Operation, context: str) -> _Outcome:
        matched: list[Rule] = []
        errors: list[str] = []
        if plan.matchers is not None:
            request = {
                "principal": {"type": "Agent", "id": agent.id},
                "action": {"type": "Action", "id": op.name},
                "resource": {"type": "Backend", "id": op.backend},
                "context": context,
            }
            # The context is built from the same shapes as the schema and the policies
            # were validated against it at load time, so it is not validated again.
            result = cedarpy.is_authorized(request, plan.matchers, self._entities)
            errors = list(result.diagnostics.errors)
            if result.allowed:
                # Cedar reports the matches as a set: in load order, verdicts read the same
                # from one run to the next
                ids = sorted(result.diagnostics.reasons, key=self._order.__getitem__)
                matched = [self.rules[i] for i in ids]
        enforced = [r for r in matched if r.mode == "enforce"]
        verdict = self._verdict(enforced, agent, op)
        shadow = self._verdict(matched, agent, op) if self._has_shadow else None
        return _Outcome(verdict, shadow, errors)

    @staticmethod
    def _verdict(matched: list[Rule], agent: Agent, op: Operation) -> Verdict:
        def of(rules: list[Rule], decision: Decision) -> Verdict:
            return Verdict(decision, [r.id for r in rules], [r.reason for r in rules])

        denies = [r for r in matched if r.effect == "forbid" and r.decision == "deny"]
        if denies:
            return of(denies, Decision.DENY)
        permits = [r for r in matched if r.effect == "permit"]
        if not permits:
            return Verdict(
                Decision.DENY,
                [],
                [
                    f"No policy permits agent {agent.id!r} to call {op.name!r} on backend "
                    f"{op.backend!r} (deny by default)."
                ],
            )
        holds = [r for r in matched if r.effect == "forbid" and r.decision == "approval_required"]
        if holds:
            return of(holds, Decision.APPROVAL_REQUIRED)
        return of(permits, Decision.ALLOW)


def _parse_file(name: str, text: str, schema: dict[str, Any]) -> tuple[list[Rule], list[str]]:
    try:
        document = json.loads(cedarpy.policies_to_json_str(text))
    except ValueError as exc:
        return [], [f"{name}: not valid Cedar: {exc}"]
    if document.get("templates"):
        return [], [f"{name}: templates (?principal / ?resource) are not supported"]
    problems: list[str] = []
    validation = cedarpy.validate_policies(text, json.dumps(schema))
    for error in validation.errors:
        problems.append(f"{name}: {error.error}")
    rules: list[Rule] = []
    for number, (parser_id, body) in enumerate(document.get("staticPolicies", {}).items()):
        annotations: dict[str, str] = body.get("annotations") or {}
        rule_id = annotations.get("id") or f"{name}:{number}"
        effect = body["effect"]
        decision = annotations.get("decision", "deny")
        mode = annotations.get("mode", "enforce")
        where = f"{name}: policy {rule_id!r} ({parser_id})"
        if decision not in _DECISIONS:
            problems.append(f"{where}: @decision must be one of {sorted(_DECISIONS)}")
        elif decision != "deny" and effect != "forbid":
            problems.append(f'{where}: @decision("{decision}") only applies to forbid')
        if mode not in _MODES:
            problems.append(f"{where}: @mode must be one of {sorted(_MODES)}")
        default_reason = (
            f"permitted by policy {rule_id}" if effect == "permit" else f"forbidden by {rule_id}"
        )
        reason = annotations.get("reason") or default_reason
        rules.append(Rule(rule_id, effect, decision, mode, reason, body))
    return rules, problems
