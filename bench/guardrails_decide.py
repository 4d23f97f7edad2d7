"""How long the guardrails add per call: a Cedar decision and a budget reservation.

Run: .venv/bin/python -m bench.guardrails_decide  (numbers go to the report, not to tests)

The Cedar figures are for the shipped policies (``builtin:*.cedar``) over generated calls
(``tests/gateway/guardrails/cedar_calls.py``): every operation, 90% reads and 10% writes,
the demo agents whose allow-lists admit them, varied inputs, times spread over two weeks
and end users named or not, so a reuse of decisions cannot flatter the figure. Each way
of deciding runs the same calls; CPU time (``process_time``), best of several rounds,
because the machine is shared.
"""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from collections.abc import Callable
from datetime import date
from decimal import Decimal

from gateway.config import load_config
from gateway.guardrails.budgets import BudgetBook
from gateway.guardrails.policy import MEMO_SIZE, PolicyEngine
from gateway.guardrails.runtime import load_policy
from gateway.identity import AgentDirectory
from gateway.pipeline import Call, CallRequest
from gateway.registry import build_registry
from gateway.state import MemoryStateStore
from schemas.warehouse import GoodsMovementRequest, MovementKind
from tests.gateway.guardrails.cedar_calls import PlainEngine, generated_calls

N = 5000
ROUNDS = 5


def per_call_us(decide: Callable[[Call], object], calls: list[Call]) -> float:
    best = float("inf")
    for _ in range(ROUNDS):
        started = time.process_time()
        for call in calls:
            decide(call)
        best = min(best, (time.process_time() - started) / len(calls) * 1e6)
    return best


def per_call_us_fresh(
    new_engine: Callable[[], PolicyEngine], calls: list[Call]
) -> tuple[float, PolicyEngine]:
    """Each round a new engine that sees every call once: decisions are reused only from
    earlier calls of the round, as in a gateway that has just started."""
    best = float("inf")
    for _ in range(ROUNDS):
        engine = new_engine()
        started = time.process_time()
        for call in calls:
            engine.decide(call)
        best = min(best, (time.process_time() - started) / len(calls) * 1e6)
    return best, engine


async def main() -> None:
    workdir = tempfile.mkdtemp(prefix="lastmile-bench-")
    config = load_config(env={"LASTMILE_AUDIT_DB": f"{workdir}/audit.sqlite"})
    registry = build_registry(config)
    directory = AgentDirectory.from_config(config.agents)
    engine = load_policy(config, registry, directory)
    assert engine is not None
    operations = list(registry.operations.values())
    agents = directory.holders()
    plain = PlainEngine(engine)

    def fresh(memo_size: int) -> PolicyEngine:
        return PolicyEngine(list(engine.rules.values()), engine.schema_json, operations, agents,
                            memo_size=memo_size)  # fmt: skip

    print(f"Cedar decision, {len(engine.rules)} shipped policies, {N} generated calls:")
    for share in (0.1, 1.0):
        calls = generated_calls(operations, agents, random.Random(17), N, write_share=share)  # noqa: S311 - a workload, not a secret
        plain_us = per_call_us(plain.decide, calls)
        no_memo_us = per_call_us(fresh(0).decide, calls)
        memo_us, last = per_call_us_fresh(lambda: fresh(MEMO_SIZE), calls)
        print(
            f"  {share:.0%} writes: whole set and context {plain_us:.0f} µs; per-operation set"
            f" and projected context {no_memo_us:.0f} µs; with reuse {memo_us:.0f} µs"
            f" ({last.memo_hits / N:.0%} of the calls reused a decision, {len(last._memo)} kept)"
        )

    inv = Call(CallRequest("req", "rest", "warehouse.goods_movements.create", None))  # type: ignore[arg-type]
    inv.agent = directory.find("replenishment-bot")
    inv.operation = registry.operations["warehouse.goods_movements.create"]
    inv.input = GoodsMovementRequest(
        material="100234", plant="1000", kind=MovementKind.RECEIPT,
        quantity=Decimal("10"), posting_date=date(2026, 11, 26),
    )  # fmt: skip
    inv.on_behalf_of = "lea.fischer@acme.example"
    book = BudgetBook(config.guardrails.budgets, config.guardrails.costs, time.time)
    store = MemoryStateStore()
    started = time.perf_counter()
    for _ in range(N):
        for charge in book.charges("replenishment-bot", inv.operation.name, None, inv.input):
            await store.charge(charge.key, charge.window, charge.micro, None)
    budget_us = (time.perf_counter() - started) / N * 1e6
    print(f"budget charge (2 budgets, memory store, fixed window): {budget_us:.0f} µs per call")


if __name__ == "__main__":
    asyncio.run(main())
