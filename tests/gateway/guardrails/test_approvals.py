"""Human approval: held calls, approvers' decisions, exactly-once execution with the
stored input, expiry on the injected clock, self-approval, and the audit story."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.cli import main
from schemas.audit import Decision, EventKind
from tests.conftest import APPROVER, AUDITOR, INVENTORY, OPERATOR, REPLENISH
from tests.gateway.guardrails.conftest import Guarded, movement

WRITE = "warehouse.goods_movements.create"
OBO = {"X-On-Behalf-Of": "lea.fischer@acme.example"}


async def hold(gateway: Guarded, quantity: str = "150", **headers: str) -> dict[str, Any]:
    response = await gateway.invoke(
        WRITE, movement(quantity=quantity, reference="PO-1"), REPLENISH, **(headers or OBO)
    )
    assert response.status == 202
    body: dict[str, Any] = await response.json()
    return body


async def test_agent_polls_its_held_call(guarded: Guarded) -> None:
    held = await hold(guarded)

    poll = await guarded.staff("GET", held["status_url"], REPLENISH)

    assert poll.status == 200
    body = await poll.json()
    assert body["status"] == "pending"
    assert body["operation"] == WRITE
    assert body["input"]["quantity"] == "150"
    assert body["reasons"] == ["Movements over 100 units need approval."]
    assert body["result"] is None


async def test_an_agent_cannot_see_another_agents_approval(guarded: Guarded) -> None:
    held = await hold(guarded)

    other = await guarded.staff("GET", held["status_url"], INVENTORY)

    assert other.status == 404


async def test_approved_call_runs_once_with_the_stored_input(guarded: Guarded) -> None:
    held = await hold(guarded)
    before = Decimal(await guarded.stock())

    approved = await guarded.staff(
        "POST", held["status_url"] + "/approve", APPROVER, {"reason": "PO confirmed"}
    )

    assert approved.status == 200
    body = await approved.json()
    assert body["status"] == "executed"
    assert body["decided_by"] == "maria.schmidt"
    assert body["result"]["quantity"] == "150"
    assert Decimal(await guarded.stock()) == before + 150

    again = await guarded.staff(
        "POST", held["status_url"] + "/approve", APPROVER, {"reason": "again"}
    )
    assert again.status == 409
    assert (await again.json())["code"] == "approval_closed"
    assert Decimal(await guarded.stock()) == before + 150

    poll = await (await guarded.staff("GET", held["status_url"], REPLENISH)).json()
    assert poll["status"] == "executed"
    assert poll["result"] == body["result"]


async def test_concurrent_approvals_execute_once(guarded: Guarded) -> None:
    held = await hold(guarded)
    before = Decimal(await guarded.stock())

    answers = await asyncio.gather(
        *(
            guarded.staff("POST", held["status_url"] + "/approve", APPROVER, {"reason": "go"})
            for _ in range(5)
        )
    )

    assert sorted(a.status for a in answers) == [200, 409, 409, 409, 409]
    assert Decimal(await guarded.stock()) == before + 150


async def test_the_audit_trail_tells_the_whole_story(guarded: Guarded) -> None:
    held = await hold(guarded)
    await guarded.staff("POST", held["status_url"] + "/approve", APPROVER, {"reason": "ok"})

    events = await guarded.audit(limit=100)
    [held_event] = [e for e in events if e.request_id == held["request_id"]]
    [decision] = [e for e in events if e.kind is EventKind.ADMIN]
    [executed] = [e for e in events if e.protocol == "approval"]
    assert held_event.decision is Decision.APPROVAL_REQUIRED
    assert decision.actor == "maria.schmidt"
    assert decision.action == "approve"
    assert decision.target == held["approval_id"]
    assert executed.outcome == "ok"
    assert executed.approval is not None
    assert executed.approval.approval_id == held["approval_id"]
    assert executed.approval.approver == "maria.schmidt"
    assert executed.agent_id == "replenishment-bot"
    assert executed.on_behalf_of == "lea.fischer@acme.example"
    assert events.index(held_event) < events.index(decision) < events.index(executed)


async def test_rejected_call_never_runs(guarded: Guarded) -> None:
    held = await hold(guarded)
    calls = await guarded.wms_calls()

    rejected = await guarded.staff(
        "POST", held["status_url"] + "/reject", APPROVER, {"reason": "no PO for this"}
    )

    assert rejected.status == 200
    assert (await rejected.json())["status"] == "rejected"
    assert await guarded.wms_calls() == calls
    late = await guarded.staff("POST", held["status_url"] + "/approve", APPROVER, {"reason": "x"})
    assert late.status == 409


async def test_approvals_expire_on_the_clock(guarded: Guarded) -> None:
    held = await hold(guarded)
    guarded.clock.advance(3599)
    assert (await (await guarded.staff("GET", held["status_url"], REPLENISH)).json())[
        "status"
    ] == "pending"

    guarded.clock.advance(1)

    poll = await (await guarded.staff("GET", held["status_url"], REPLENISH)).json()
    assert poll["status"] == "expired"
    late = await guarded.staff("POST", held["status_url"] + "/approve", APPROVER, {"reason": "x"})
    assert late.status == 409
    pending = await (await guarded.staff("GET", "/v1/approvals?status=pending", APPROVER)).json()
    assert pending["approvals"] == []


async def test_nobody_approves_their_own_request(guarded: Guarded) -> None:
    held = await hold(guarded, **{"X-On-Behalf-Of": "maria.schmidt@acme.example"})

    own = await guarded.staff("POST", held["status_url"] + "/approve", APPROVER, {"reason": "x"})

    assert own.status == 403
    assert (await own.json())["code"] == "self_approval"
    poll = await (await guarded.staff("GET", held["status_url"], REPLENISH)).json()
    assert poll["status"] == "pending"


@pytest.mark.parametrize(
    ("key", "status"),
    [(REPLENISH, 403), (INVENTORY, 403), (OPERATOR, 403), (AUDITOR, 403), (None, 401)],
)
async def test_only_approvers_decide(guarded: Guarded, key: str | None, status: int) -> None:
    held = await hold(guarded)
    headers = {"Authorization": f"Bearer {key}"} if key else {}

    answer = await guarded.client.post(
        held["status_url"] + "/approve", json={"reason": "me"}, headers=headers
    )

    assert answer.status == status
    poll = await (await guarded.staff("GET", held["status_url"], REPLENISH)).json()
    assert poll["status"] == "pending"


@pytest.mark.parametrize("key", [OPERATOR, AUDITOR, APPROVER])
async def test_operators_and_auditors_read_approvals_as_the_console_shows_them(
    guarded: Guarded, key: str
) -> None:
    held = await hold(guarded)

    listed = await guarded.staff("GET", "/v1/approvals?status=pending", key)
    one = await guarded.staff("GET", held["status_url"], key)

    assert listed.status == 200
    assert [a["id"] for a in (await listed.json())["approvals"]] == [held["approval_id"]]
    assert one.status == 200
    assert (await one.json())["status"] == "pending"


async def test_an_agent_key_reading_the_approvals_list_is_told_it_needs_a_person(
    guarded: Guarded,
) -> None:
    answer = await guarded.staff("GET", "/v1/approvals", INVENTORY)

    assert answer.status == 403
    assert "needs a person" in (await answer.json())["detail"]


async def test_a_decision_needs_a_reason(guarded: Guarded) -> None:
    held = await hold(guarded)

    answer = await guarded.staff("POST", held["status_url"] + "/approve", APPROVER, {})

    assert answer.status == 422
    assert (await answer.json())["code"] == "validation_failed"


async def test_a_failed_execution_is_reported_at_the_status_url(guarded: Guarded) -> None:
    held = await hold(guarded)
    await guarded.fault("unavailable")

    approved = await guarded.staff(
        "POST", held["status_url"] + "/approve", APPROVER, {"reason": "go"}
    )

    body = await approved.json()
    assert body["status"] == "failed"
    assert body["error"]["code"] == "backend_unavailable"


async def test_approvals_cli_lists_and_approves_over_http(
    guarded: Guarded, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    held = await hold(guarded)
    url = str(guarded.client.make_url("/")).rstrip("/")
    monkeypatch.setenv("LASTMILE_STAFF_KEY", APPROVER)

    listed = await asyncio.to_thread(main, ["approvals", "list", "--url", url])
    assert listed == 0
    assert held["approval_id"] in capsys.readouterr().out

    approved = await asyncio.to_thread(
        main, ["approvals", "approve", held["approval_id"], "--reason", "ok", "--url", url]
    )
    assert approved == 0
    assert '"executed"' in capsys.readouterr().out

    monkeypatch.setenv("LASTMILE_STAFF_KEY", REPLENISH)
    refused = await asyncio.to_thread(
        main, ["approvals", "reject", held["approval_id"], "--reason", "x", "--url", url]
    )
    assert refused == 1
    assert os.environ["LASTMILE_STAFF_KEY"] == REPLENISH


async def test_an_edited_stored_input_never_runs(guarded: Guarded, tmp_path: Path) -> None:
    held = await hold(guarded)
    with sqlite3.connect(tmp_path / "approvals.sqlite") as db:
        db.execute(
            "UPDATE approvals SET input_json = replace(input_json, '150', '999') WHERE id = ?",
            (held["approval_id"],),
        )
    calls = await guarded.wms_calls()

    approved = await guarded.staff(
        "POST", held["status_url"] + "/approve", APPROVER, {"reason": "go"}
    )

    body = await approved.json()
    assert body["status"] == "failed"
    assert "no longer matches the approved hash" in body["error"]["detail"]
    assert await guarded.wms_calls() == calls


def test_budget_and_policy_problems_fail_check_config(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    default = Path("gateway/defaults/gateway.yaml").read_text()
    config = tmp_path / "gateway.yaml"
    config.write_text(default.replace("measure: input.quantity", "measure: input.colour"))

    assert main(["check-config", str(config)]) == 2
    assert "has no input field 'colour'" in capsys.readouterr().err
