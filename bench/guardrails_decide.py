"""How long the guardrails add per call: a Cedar decision and a budget reservation.

Run: .venv/bin/python bench/guardrails_decide.py  (numbers go to the report, not to tests)
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import date
from decimal import Decimal

from gateway.config import load_config
from gateway.guardrails.budgets import BudgetBook
from gateway.guardrails.runtime import load_policy
from gateway.identity import AgentDirectory
from gateway.pipeline import Call, CallRequest
from gateway.registry import build_registry
from gateway.state import MemoryStateStore
from schemas.warehouse import GoodsMovementRequest, MovementKind

N = 5000


async def main() -> None:
    workdir = tempfile.mkdtemp(prefix="lastmile-bench-")
    config = load_config(env={"LASTMILE_AUDIT_DB": f"{workdir}/audit.sqlite"})
    registry = build_registry(config)
    directory = AgentDirectory.from_config(config.agents)
    engine = load_policy(config, registry, directory)
    assert engine is not None
    inv = Call(CallRequest("req", "rest", "warehouse.goods_movements.create", None))  # type: ignore[arg-type]
    inv.agent = directory.find("replenishment-bot")
    inv.operation = registry.operations["warehouse.goods_movements.create"]
    inv.input = GoodsMovementRequest(
        material="100234", plant="1000", kind=MovementKind.RECEIPT,
        quantity=Decimal("10"), posting_date=date(2026, 11, 26),
    )  # fmt: skip
    inv.on_behalf_of = "lea.fischer@acme.example"
    started = time.perf_counter()
    for _ in range(N):
        engine.decide(inv)
    decide_us = (time.perf_counter() - started) / N * 1e6

    book = BudgetBook(config.guardrails.budgets, config.guardrails.costs, time.time)
    store = MemoryStateStore()
    started = time.perf_counter()
    for _ in range(N):
        for charge in book.charges("replenishment-bot", inv.operation.name, None, inv.input):
            await store.charge(charge.key, charge.window, charge.micro, None)
    budget_us = (time.perf_counter() - started) / N * 1e6
    print(f"Cedar decide (5 policies, 1 shadow): {decide_us:.0f} µs per call")
    print(f"budget charge (2 budgets, memory store, fixed window): {budget_us:.0f} µs per call")


if __name__ == "__main__":
    asyncio.run(main())
