"""The holes found by attacking the call path, each proven closed through the public
interfaces: the REST API, MCP and the approvals API, against the real WMS sandbox."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestServer

from gateway.appkeys import RESILIENCE
from tests.conftest import APPROVER, INVENTORY, OPERATOR, REPLENISH, TEST_CONFIG, Gateway
from tests.gateway.guardrails.conftest import (  # the fixtures are shared, not copied
    POLICIES,
    Guarded,
    guarded,
    movement,
    start_guarded,
)
from tests.gateway.resilience.conftest import (
    CREATE,
    RECEIPT,
    STOCK,
    GatewayFactory,
    fake_time,
    gateway_with,
    sandbox_post,
    sandbox_stats,
)
from tests.mcp_requests import tools_call

__all__ = ["fake_time", "gateway_with", "guarded", "start_guarded"]

QUEUED = """
resilience:
  backends:
    acme_wms:
      bulkhead: {max_concurrent: 1, max_queue: 50, queue_timeout_s: 600}
"""


async def until(condition: Any, rounds: int = 10_000) -> None:
    """Let the loop run until ``condition()`` holds (no wall-clock sleeping)."""
    for _ in range(rounds):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError("the condition never held")


async def test_a_halt_reaches_calls_already_waiting_in_the_bulkhead_queue(
    gateway_with: GatewayFactory, wms: TestServer
) -> None:
    gateway = await gateway_with(QUEUED)
    bulkhead = gateway.client.app[RESILIENCE].bulkheads["acme_wms"]
    await sandbox_post(wms, "/_sandbox/faults", {"mode": "hold"})
    calls = [
        asyncio.create_task(gateway.invoke("warehouse.stock.get", STOCK, INVENTORY))
        for _ in range(20)
    ]
    await gateway.wait_held(1)
    await until(lambda: bulkhead.waiting == 19)

    halted = await gateway.client.post(
        "/v1/admin/halts",
        json={"scope": "agent", "target": "inventory-bot", "reason": "runaway loop"},
        headers={"Authorization": f"Bearer {OPERATOR}"},
    )
    assert halted.status == 201
    await sandbox_post(wms, "/_sandbox/release", {})
    answers = [await call for call in calls]

    assert sorted(a.status for a in answers) == [200] + [503] * 19
    assert (await sandbox_stats(wms))["api_calls"] == 1  # only the call already in flight
    codes = [e.outcome for e in await gateway.audit(agent_id="inventory-bot")]
    assert codes.count("halted") == 19


async def test_a_dry_run_keeps_the_idempotency_key_free_for_the_real_call(
    gateway: Gateway,
) -> None:
    key = {"Idempotency-Key": "order-4711"}
    rehearsal = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **key, **{"X-Dry-Run": "true"})
    assert rehearsal.status == 200
    assert (await rehearsal.json())["dry_run"] is True

    real = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **key)
    again = await gateway.invoke(CREATE, RECEIPT, REPLENISH, **key)

    assert real.status == 200, await real.text()
    assert "Idempotent-Replayed" not in real.headers
    assert again.status == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert (await again.json())["output"] == (await real.json())["output"]
    assert (await sandbox_stats(gateway.wms))["documents"] == 1


async def test_a_held_write_retried_with_its_key_returns_the_same_approval(
    guarded: Guarded,
) -> None:
    body = movement(quantity="150", reference="PO-9")
    headers = {"Idempotency-Key": "po-9-line-1", "X-On-Behalf-Of": "lea.fischer@acme.example"}
    answers = [await guarded.invoke(CREATE, body, REPLENISH, **headers) for _ in range(3)]

    assert [a.status for a in answers] == [202, 202, 202]
    ids = {(await a.json())["approval_id"] for a in answers}
    assert len(ids) == 1
    assert [a.headers.get("Idempotent-Replayed") for a in answers] == [None, "true", "true"]
    pending = await (await guarded.staff("GET", "/v1/approvals?status=pending", APPROVER)).json()
    assert [a["id"] for a in pending["approvals"]] == list(ids)

    before = await sandbox_stats(guarded.wms)
    decided = await guarded.staff(
        "POST", f"/v1/approvals/{ids.pop()}/approve", APPROVER, {"reason": "PO checked"}
    )
    assert (await decided.json())["status"] == "executed"
    after = await sandbox_stats(guarded.wms)
    assert after["documents"] == before["documents"] + 1


LIMITED = """
guardrails:
  policies: ["${POLICY_FILE}"]
resilience:
  rate_limits:
    agent: {limit: 2, window_s: 60}
"""


async def test_policy_denied_calls_leave_the_rate_limit_quota_as_it_was(
    gateway_with: GatewayFactory, tmp_path: Path
) -> None:
    policy_file = tmp_path / "policies.cedar"
    policy_file.write_text(POLICIES)
    gateway = await gateway_with(LIMITED, POLICY_FILE=str(policy_file))
    scrap = movement(kind="scrap")

    denied = [await gateway.invoke(CREATE, scrap, REPLENISH) for _ in range(5)]
    allowed = [await gateway.invoke(CREATE, movement(), REPLENISH) for _ in range(3)]

    assert [d.status for d in denied] == [403] * 5
    assert [a.status for a in allowed] == [200, 200, 429]


async def test_shadow_verdicts_stay_in_the_audit_and_are_never_shown_to_agents(
    guarded: Guarded,
) -> None:
    """``name-the-user`` is a shadow policy: a movement without on-behalf-of would be
    denied by it. Agents see neither its id nor its reason; the auditor sees both."""
    held = await guarded.invoke(CREATE, movement(quantity="150"), REPLENISH)
    rehearsal = await guarded.invoke(CREATE, movement(), REPLENISH, **{"X-Dry-Run": "true"})
    mcp_visible = [await held.text(), await rehearsal.text()]
    poll = await guarded.staff("GET", (await held.json())["status_url"], REPLENISH)
    mcp_visible.append(await poll.text())

    assert held.status == 202
    for text in mcp_visible:
        assert "name-the-user" not in text
        assert "shadow" not in text
    events = await guarded.audit(agent_id="replenishment-bot")
    assert all("shadow:name-the-user" in e.policy_ids for e in events)
    assert all(e.shadow_decision == "deny" for e in events)


SECRET_HEADER_VALUE = "wms-key-Zq8Vt3Lp"

LEAKY_BACKEND = TEST_CONFIG.replace(
    "    max_response_bytes: 65536\n",
    "    max_response_bytes: 65536\n"
    "    headers: {X-Api-Key: '${WMS_API_KEY}'}\n"
    "    auth: {type: bearer, token: '${WMS_TOKEN}'}\n",
)
LEAKS = ("Db-Pa55word", "AKIA7LEAKED99", SECRET_HEADER_VALUE, "tok-7Hn2Xw9Rk")


async def test_secrets_in_backend_errors_reach_no_answer_no_trail_and_no_log(
    gateway_with: GatewayFactory, wms: TestServer, log_lines: Any
) -> None:
    gateway = await gateway_with(
        "", LEAKY_BACKEND, WMS_API_KEY=SECRET_HEADER_VALUE, WMS_TOKEN="tok-7Hn2Xw9Rk"
    )
    await sandbox_post(wms, "/_sandbox/faults", {"mode": "leaky"})
    rest = await gateway.invoke("warehouse.stock.get", STOCK, INVENTORY)
    body, headers = tools_call("warehouse.stock.get", STOCK, INVENTORY)
    mcp = await gateway.client.post("/mcp", json=body, headers=headers)

    assert rest.status == 502
    seen = {
        "rest": await rest.text(),
        "mcp": await mcp.text(),
        "audit": "".join(e.model_dump_json() for e in await gateway.audit()),
        "log": str(log_lines()),
    }
    assert "DB error" in seen["rest"]  # the useful part of the message is kept
    assert "postgresql://***@db.internal" in seen["audit"]
    for where, text in seen.items():
        for secret in LEAKS:
            assert secret not in text, f"{secret} leaked into the {where}"


async def test_a_failed_approved_call_keeps_secrets_out_of_the_approval_document(
    guarded: Guarded,
) -> None:
    held = await guarded.invoke(CREATE, movement(quantity="150"), REPLENISH)
    await guarded.fault("leaky")

    decided = await guarded.staff(
        "POST", f"{(await held.json())['status_url']}/approve", APPROVER, {"reason": "ok"}
    )
    document = await decided.json()
    poll = await guarded.staff("GET", document["status_url"], REPLENISH)

    assert document["status"] == "failed"
    assert "postgresql://***@db.internal" in document["error"]["detail"]
    for text in (await decided.text(), await poll.text()):
        assert "Db-Pa55word" not in text
        assert "AKIA7LEAKED99" not in text


async def test_approved_calls_are_measured_like_any_call(guarded: Guarded) -> None:
    held = await guarded.invoke(CREATE, movement(quantity="150"), REPLENISH)
    await guarded.staff(
        "POST", f"{(await held.json())['status_url']}/approve", APPROVER, {"reason": "ok"}
    )

    metrics = await (await guarded.client.get("/metrics")).text()

    labels = 'agent="replenishment-bot",operation="warehouse.goods_movements.create"'
    assert f'lastmile_calls_total{{{labels},outcome="approval_required"}} 1.0' in metrics
    assert f'lastmile_calls_total{{{labels},outcome="ok"}} 1.0' in metrics
    [approved] = [e for e in await guarded.audit() if e.protocol == "approval"]
    assert approved.approval is not None
    assert approved.approval.approver == "maria.schmidt"
