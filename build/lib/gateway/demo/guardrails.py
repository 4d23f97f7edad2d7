"""Demo chapter: the guardrails. A policy denies with its reason, a large write waits for
a person and runs once, a dry run shows the legacy payload, a budget runs out, an
operator halts an agent, and personal data stays hidden from an agent without scope."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from gateway.demo.session import Answer, DemoContext, DemoFailed

OBO = {"X-On-Behalf-Of": "lea.fischer@acme.example"}


def movement(kind: str, quantity: str, reference: str) -> dict[str, Any]:
    return {
        "material": "100234",
        "plant": "1000",
        "kind": kind,
        "quantity": quantity,
        "posting_date": date.today().isoformat(),
        "reference": reference,
    }


async def stock(demo: DemoContext) -> str:
    answer = await demo.invoke(
        "warehouse.stock.get", "inventory-bot", {"material": "100234", "plant": "1000"}
    )
    demo.expect(answer, 200)
    return str(answer.body["output"]["quantity"])


async def play(demo: DemoContext) -> None:
    await _denied_by_policy(demo)
    await _dry_run(demo)
    await _held_for_approval(demo)
    await _budget_exhausted(demo)
    await _halt(demo)
    await _redaction(demo)


async def _denied_by_policy(demo: DemoContext) -> None:
    demo.step("policy: replenishment-bot tries to scrap stock  (Cedar forbid)")
    denied = await demo.invoke(
        "warehouse.goods_movements.create",
        "replenishment-bot",
        movement("scrap", "5", "SCRAP-1"),
        **OBO,
    )
    demo.expect(denied, 403, lambda b: b["code"] == "policy_denied")
    demo.say(f"   HTTP 403 {denied.body['code']}  policies: {', '.join(denied.body['policy_ids'])}")
    demo.say(f"   detail: {denied.body['detail']}")


async def _dry_run(demo: DemoContext) -> None:
    demo.step("dry run: what would an issue of 30 pieces send?  X-Dry-Run: true")
    before = await stock(demo)
    dry = await demo.invoke(
        "warehouse.goods_movements.create",
        "replenishment-bot",
        movement("issue", "30", "DRY-1"),
        **{**OBO, "X-Dry-Run": "true"},
    )
    demo.expect(dry, 200, lambda b: b["dry_run"] and b["decision"] == "allow")
    request = dry.body["backend_request"]
    demo.say(f"   decision: {dry.body['decision']}  ({'; '.join(dry.body['reasons'])})")
    demo.say(f"   would send: {request['method']} {request['path']}")
    demo.say(f"               {json.dumps(request['body'])}")
    demo.say(
        f"   stock before {dry.body['before']['quantity']} -> after {dry.body['after']['quantity']}"
    )
    for budget in dry.body["budgets"]:
        demo.say(
            f"   budget {budget['budget']}: {budget['used']} used + {budget['amount']} "
            f"of {budget['limit']}"
        )
    after = await stock(demo)
    if after != before:
        raise DemoFailed(f"a dry run changed the stock: {before} -> {after}")
    demo.say(f"   the ERP was not written: stock is still {after}")


async def _held_for_approval(demo: DemoContext) -> None:
    demo.step("approval: a receipt of 150 pieces waits for a person")
    before = await stock(demo)
    held = await demo.invoke(
        "warehouse.goods_movements.create",
        "replenishment-bot",
        movement("receipt", "150", "PO-4712"),
        **OBO,
    )
    demo.expect(held, 202, lambda b: b["status"] == "approval_required")
    approval_id, url = held.body["approval_id"], held.body["status_url"]
    demo.say(f"   HTTP 202: held as {approval_id}; the agent polls {url}")
    demo.say(f"   why: {'; '.join(held.body['reasons'])}")
    poll = await demo.call("GET", url, "replenishment-bot")
    demo.expect(poll, 200, lambda b: b["status"] == "pending")
    demo.say(f"   agent polls: {poll.body['status']}")

    by_agent = await demo.call(
        "POST", f"{url}/approve", "replenishment-bot", {"reason": "I approve myself"}
    )
    demo.expect(by_agent, 403, lambda b: b["code"] == "forbidden")
    demo.say(f"   the agent tries to approve it itself: HTTP 403 ({by_agent.body['detail']})")

    pending = await demo.call("GET", "/v1/approvals?status=pending", "maria.schmidt")
    demo.expect(pending, 200, lambda b: any(a["id"] == approval_id for a in b["approvals"]))
    demo.say(
        f"   maria.schmidt (approver) sees {len(pending.body['approvals'])} pending approval(s)"
    )
    approved = await demo.call(
        "POST", f"{url}/approve", "maria.schmidt", {"reason": "PO 4712 confirmed by supplier"}
    )
    demo.expect(approved, 200, lambda b: b["status"] == "executed")
    demo.say(
        f"   approved by {approved.body['decided_by']}: executed as "
        f"{approved.body['execution_request_id']}, document "
        f"{approved.body['result']['document_number']}"
    )
    again = await demo.call("POST", f"{url}/approve", "maria.schmidt", {"reason": "once more"})
    demo.expect(again, 409, lambda b: b["code"] == "approval_closed")
    demo.say(f"   approving again: HTTP 409 {again.body['code']} (it ran exactly once)")
    done = await demo.call("GET", url, "replenishment-bot")
    demo.expect(done, 200, lambda b: b["status"] == "executed" and b["result"] is not None)
    after = await stock(demo)
    demo.say(f"   agent polls: {done.body['status']}; stock {before} -> {after}")
    if float(after) != float(before) + 150:
        raise DemoFailed(f"expected the receipt once: {before} -> {after}")

    mine = await demo.invoke(
        "warehouse.goods_movements.create",
        "replenishment-bot",
        movement("receipt", "120", "PO-4713"),
        **{"X-On-Behalf-Of": "maria.schmidt@acme.example"},
    )
    demo.expect(mine, 202)
    own = await demo.call(
        "POST", f"{mine.body['status_url']}/approve", "maria.schmidt", {"reason": "mine"}
    )
    demo.expect(own, 403, lambda b: b["code"] == "self_approval")
    demo.say(f"   a call made for maria.schmidt herself: HTTP 403 {own.body['code']}")


async def _budget_exhausted(demo: DemoContext) -> None:
    demo.step("budget: replenishment-bot may move 500 units a day")
    for number in range(1, 8):
        answer: Answer = await demo.invoke(
            "warehouse.goods_movements.create",
            "replenishment-bot",
            movement("receipt", "100", f"PO-48{number:02d}"),
        )
        if answer.status == 429:
            demo.expect(answer, 429, lambda b: b["code"] == "budget_exceeded")
            demo.say(
                f"   receipt {number}: HTTP 429 {answer.body['code']}, "
                f"Retry-After {answer.headers.get('Retry-After')} s"
            )
            demo.say(f"   detail: {answer.body['detail']}")
            break
        demo.expect(answer, 200)
        demo.say(
            f"   receipt {number} of 100: posted, stock {answer.body['output']['stock_after']}"
        )
    else:
        raise DemoFailed("the quantity budget never ran out")
    shadow = [e for e in await demo.audit() if e.shadow_decision is not None]
    if not shadow:
        raise DemoFailed("expected a shadow decision for movements without an end user")
    note = next(r for r in shadow[-1].reasons if r.startswith("shadow"))
    demo.say(f"   recorded on those calls without an end user: {note}")


async def _halt(demo: DemoContext) -> None:
    demo.step("kill switch: ops-oncall halts replenishment-bot")
    halted = await demo.call(
        "POST",
        "/v1/admin/halts",
        "ops-oncall",
        {"scope": "agent", "target": "replenishment-bot", "reason": "runaway reorders"},
    )
    demo.expect(halted, 201, lambda b: b["id"] == "agent:replenishment-bot")
    demo.say(f"   halt {halted.body['id']} by {halted.body['operator']}: {halted.body['reason']}")
    refused = await demo.invoke(
        "warehouse.stock.get", "replenishment-bot", {"material": "100234", "plant": "1000"}
    )
    demo.expect(refused, 503, lambda b: b["code"] == "halted")
    demo.say(f"   its next call: HTTP 503 {refused.body['code']}: {refused.body['detail']}")
    await stock(demo)
    demo.say("   inventory-bot is not affected")
    resumed = await demo.call("DELETE", "/v1/admin/halts/agent:replenishment-bot", "ops-oncall")
    demo.expect(resumed, 200)
    back = await demo.invoke(
        "warehouse.stock.get", "replenishment-bot", {"material": "100234", "plant": "1000"}
    )
    demo.expect(back, 200)
    demo.say(f"   resumed by {resumed.body['resumed_by']}: replenishment-bot calls again")


async def _redaction(demo: DemoContext) -> None:
    demo.step("redaction: the responsible buyer's e-mail is personal data")
    hidden = await demo.invoke("warehouse.items.get", "inventory-bot", {"material": "100234"})
    demo.expect(hidden, 200, lambda b: b["output"]["responsible_buyer"].startswith("[redacted"))
    shown = await demo.invoke("warehouse.items.get", "replenishment-bot", {"material": "100234"})
    demo.expect(shown, 200, lambda b: "@" in b["output"]["responsible_buyer"])
    demo.say(f"   inventory-bot sees      {hidden.body['output']['responsible_buyer']}")
    demo.say(f"   replenishment-bot sees  {shown.body['output']['responsible_buyer']}  (may_see)")
