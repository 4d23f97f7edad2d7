"""The engine's per-operation policy sets, projected contexts and reused decisions give
exactly the verdicts of the plain evaluation (every policy, the whole context, one
``cedarpy.is_authorized`` per call), over generated calls and adversarial policy sets."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from adapters.base import Operation
from gateway.config import load_config
from gateway.guardrails.policy import PolicyEngine
from gateway.guardrails.policy_plan import context_needs
from gateway.identity import Agent, AgentDirectory
from gateway.registry import build_registry
from schemas.audit import Decision
from tests.gateway.guardrails.cedar_calls import PlainEngine, generated_calls

SHIPPED = ["builtin:warehouse.cedar", "builtin:finance.cedar", "builtin:sales.cedar"]

# Every kind of scope and condition the engine's planning must get right.
ADVERSARIAL = """
@id("writes-by-production")
permit (principal, action in Action::"write", resource)
when { principal.environment == "production" };

@id("anything-in-office-hours")
permit (principal, action, resource)
when { context.request.hour >= 8 && context.request.hour < 18 && context.request.weekday <= 5 };

@id("sales-bot-reads-sales")
permit (
  principal == Agent::"sales-bot",
  action in [Action::"read", Action::"finance.payments.post"],
  resource in Backend::"acme_sales"
);

@id("low-risk-on-the-erp")
permit (principal is Agent, action, resource is Backend in Backend::"acme_erp")
when { context.operation.risk == "low" };

@id("no-weekend-writes")
forbid (principal, action in Action::"write", resource)
when { context.request.weekday > 5 };

@id("no-scrap")
forbid (principal, action == Action::"warehouse.goods_movements.create", resource)
when { context.input.kind == "scrap" };

@id("texts-with-a-zero-need-approval")
@decision("approval_required")
forbid (principal, action in [Action::"finance.credit_notes.create"], resource)
when { context.input.text like "*0*" };

@id("lea-would-be-refused")
@mode("shadow")
forbid (principal, action, resource)
when { context.request has on_behalf_of && context.request.on_behalf_of like "lea*" };

@id("overflows-on-big-limits")
forbid (principal, action == Action::"finance.customers.search", resource)
when { context.input has limit && context.input.limit * 40000000000000000 > 0 };

@id("big-euro-credit-notes")
@decision("approval_required")
forbid (principal, action == Action::"finance.credit_notes.create", resource)
when {
  context.input.amount.amount.greaterThan(decimal("10000.00")) &&
  context.input.amount.currency == "EUR"
};

@id("logistics-reads")
permit (principal, action in Action::"read", resource)
when { principal.team == "logistics" };

@id("a-day-of-calm")
forbid (principal, action, resource)
when { context.request.time >= 1796256000 && context.request.time < 1796342400 };

@id("named-end-user")
@mode("shadow")
permit (principal, action, resource)
when { context has request.on_behalf_of };

@id("empty-orders")
forbid (principal, action == Action::"sales.orders.create", resource)
when { context.input.items.isEmpty() };

@id("open-invoices")
permit (principal, action == Action::"finance.invoices.list", resource)
when { context.input has status && context.input.status == "open" };

@id("dry-runs-read-the-whole-context")
forbid (principal, action == Action::"sales.orders.release", resource)
when { context == context && context.request.dry_run };
"""

# Most operations have no policy at all: nothing to evaluate, deny by default.
ONE_OPERATION = 'permit (principal, action == Action::"warehouse.stock.get", resource);'

# Not in the engine's entities: every policy reading its attributes errors.
STRANGER = Agent("stranger", "nobody", "logistics", "production", ("*",))


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[Operation], list[Agent]]:
    audit = tmp_path_factory.mktemp("demo") / "audit.sqlite"
    config = load_config(env={"LASTMILE_AUDIT_DB": str(audit)})
    registry = build_registry(config)
    return list(registry.operations.values()), AgentDirectory.from_config(config.agents).holders()


def policy_files(tmp_path: Path, name: str) -> list[str]:
    texts = {"adversarial": ADVERSARIAL, "one-operation": ONE_OPERATION}
    if name == "shipped":
        return SHIPPED
    path = tmp_path / f"{name}.cedar"
    path.write_text(texts.get(name, ADVERSARIAL))
    return [*SHIPPED, str(path)] if name == "shipped+adversarial" else [str(path)]


@pytest.mark.parametrize(
    "policies", ["shipped", "adversarial", "one-operation", "shipped+adversarial"]
)
def test_same_verdicts_as_the_whole_set_on_the_whole_context(
    policies: str, demo: tuple[list[Operation], list[Agent]], tmp_path: Path
) -> None:
    operations, agents = demo
    loaded = PolicyEngine.load(policy_files(tmp_path, policies), operations, agents)
    # a small memo, so reuse and eviction both happen within the run
    engine = PolicyEngine(
        list(loaded.rules.values()), loaded.schema_json, operations, agents, memo_size=200
    )
    plain = PlainEngine(loaded)
    rng = random.Random(f"plan-{policies}")  # noqa: S311 - a workload, not a secret
    calls = generated_calls(operations, [*agents, STRANGER], rng, 1500, write_share=0.5)
    for i in sorted(rng.sample(range(len(calls)), 300), reverse=True):
        calls.insert(i + 1, calls[i])  # the very same call again

    decisions: Counter[Decision] = Counter()
    erred = 0
    for call in calls:
        verdict, shadow, errors = plain.decide(call)
        with capture_logs() as logs:
            assert engine.decide(call) == (verdict, shadow), call
        logged = [e["errors"] for e in logs if e["event"] == "policy_evaluation_error"]
        assert logged == ([errors[:5]] if errors else []), call
        decisions[verdict.decision] += 1
        erred += bool(errors)

    assert engine.memo_hits >= 300
    if policies == "adversarial":  # the spread reaches every answer and the errors
        assert set(decisions) == {Decision.ALLOW, Decision.DENY, Decision.APPROVAL_REQUIRED}
        assert erred > 0


def test_a_reused_decision_cannot_be_changed_by_its_caller(
    demo: tuple[list[Operation], list[Agent]],
) -> None:
    operations, agents = demo
    engine = PolicyEngine.load(SHIPPED, operations, agents)
    rng = random.Random(1)  # noqa: S311 - a workload, not a secret
    [call] = generated_calls(operations, agents, rng, 1, write_share=0)

    first, _ = engine.decide(call)
    first.policy_ids.append("tampered")
    first.reasons.clear()
    again, _ = engine.decide(call)

    assert engine.memo_hits == 1
    assert "tampered" not in again.policy_ids
    assert again.reasons


def test_a_policy_without_conditions_reads_no_context() -> None:
    assert context_needs([{"conditions": []}]) == {}


def when(expression: dict[str, object]) -> dict[str, object]:
    return {"conditions": [{"kind": "when", "body": expression}]}


CONTEXT = {"Var": "context"}


def attr(left: object, name: str, kind: str = ".") -> dict[str, object]:
    return {kind: {"left": left, "attr": name}}


def test_an_attribute_read_takes_its_whole_value_and_a_has_only_its_presence() -> None:
    kind = attr(attr(CONTEXT, "input"), "kind")
    has_user = attr(attr(CONTEXT, "request"), "on_behalf_of", "has")
    amount = attr(attr(attr(CONTEXT, "input"), "amount"), "amount")

    needs = context_needs([when({"&&": {"left": kind, "right": has_user}}), when(amount)])

    assert needs == {
        "input": {"kind": None, "amount": {"amount": None}},
        "request": {"on_behalf_of": {}},
    }


def test_a_read_of_a_record_covers_reads_below_it() -> None:
    amount = attr(attr(attr(CONTEXT, "input"), "amount"), "amount")
    whole_amount = attr(attr(CONTEXT, "input"), "amount")

    assert context_needs([when(amount), when(whole_amount)]) == {"input": {"amount": None}}
    assert context_needs([when(whole_amount), when(amount)]) == {"input": {"amount": None}}


def test_context_used_any_other_way_reads_all_of_it() -> None:
    either = {"if-then-else": {"if": {"Value": True}, "then": CONTEXT, "else": {"Record": {}}}}

    assert context_needs([when(attr(either, "input", "has"))]) is None
    assert context_needs([when({"==": {"left": CONTEXT, "right": CONTEXT}})]) is None
