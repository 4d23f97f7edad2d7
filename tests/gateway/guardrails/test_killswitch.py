"""The kill switch: operators halt all traffic, an agent, a backend or an operation; the
next call is refused with the reason, calls in flight finish, and every halt and resume
is an audit event naming the operator."""

from __future__ import annotations

import asyncio

import pytest

from gateway.cli import main
from sandbox.acme_warehouse import RELEASE, STATS
from schemas.audit import EventKind
from tests.conftest import APPROVER, INVENTORY, OPERATOR, REPLENISH
from tests.gateway.guardrails.conftest import Guarded

STOCK = {"material": "100234", "plant": "1000"}


async def halt(gateway: Guarded, scope: str, target: str = "", reason: str = "incident") -> str:
    answer = await gateway.staff(
        "POST", "/v1/admin/halts", OPERATOR, {"scope": scope, "target": target, "reason": reason}
    )
    assert answer.status == 201
    return str((await answer.json())["id"])


async def test_halting_an_agent_refuses_its_next_call_with_the_reason(guarded: Guarded) -> None:
    halt_id = await halt(guarded, "agent", "replenishment-bot", "runaway reorders")

    refused = await guarded.invoke("warehouse.stock.get", STOCK, REPLENISH)

    assert refused.status == 503
    problem = await refused.json()
    assert problem["code"] == "halted"
    assert "runaway reorders" in problem["detail"]
    assert "ops-oncall" in problem["detail"]
    assert halt_id == "agent:replenishment-bot"
    assert (await guarded.invoke("warehouse.stock.get", STOCK, INVENTORY)).status == 200

    resumed = await guarded.staff("DELETE", f"/v1/admin/halts/{halt_id}", OPERATOR)
    assert resumed.status == 200
    assert (await guarded.invoke("warehouse.stock.get", STOCK, REPLENISH)).status == 200


@pytest.mark.parametrize(
    ("scope", "target"),
    [("all", ""), ("backend", "acme_wms"), ("operation", "warehouse.stock.get")],
)
async def test_every_scope_halts_what_it_names(guarded: Guarded, scope: str, target: str) -> None:
    await halt(guarded, scope, target)

    assert (await guarded.invoke("warehouse.stock.get", STOCK, INVENTORY)).status == 503
    items = await guarded.invoke("warehouse.items.get", {"material": "100234"}, INVENTORY)
    assert items.status == (200 if scope == "operation" else 503)


async def test_calls_in_flight_finish(guarded: Guarded) -> None:
    await guarded.fault("slow", delay_s=60)
    calls = guarded.wms.app[STATS].api_calls
    in_flight = asyncio.create_task(guarded.invoke("warehouse.stock.get", STOCK, REPLENISH))
    for _ in range(100_000):  # yield until the call has reached the warehouse
        if guarded.wms.app[STATS].api_calls > calls:
            break
        await asyncio.sleep(0)
    assert guarded.wms.app[STATS].api_calls > calls

    await halt(guarded, "agent", "replenishment-bot")
    refused = await guarded.invoke("warehouse.stock.get", STOCK, REPLENISH)
    guarded.wms.app[RELEASE].set()

    assert refused.status == 503
    assert (await in_flight).status == 200


async def test_halts_and_resumes_are_audited_naming_the_operator(guarded: Guarded) -> None:
    await halt(guarded, "agent", "replenishment-bot", "runaway")
    await guarded.staff("DELETE", "/v1/admin/halts/agent:replenishment-bot", OPERATOR)

    events = [e for e in await guarded.audit() if e.kind is EventKind.ADMIN]

    assert [(e.action, e.actor, e.target) for e in events] == [
        ("halt", "ops-oncall", "agent:replenishment-bot"),
        ("resume", "ops-oncall", "agent:replenishment-bot"),
    ]
    assert events[0].detail == "runaway"


async def test_listing_and_bad_requests(guarded: Guarded) -> None:
    await halt(guarded, "backend", "acme_wms")
    listing = await (await guarded.staff("GET", "/v1/admin/halts", OPERATOR)).json()
    assert [h["id"] for h in listing["halts"]] == ["backend:acme_wms"]

    unknown = await guarded.staff(
        "POST", "/v1/admin/halts", OPERATOR, {"scope": "agent", "target": "nobody", "reason": "x"}
    )
    assert unknown.status == 422
    no_reason = await guarded.staff("POST", "/v1/admin/halts", OPERATOR, {"scope": "all"})
    assert no_reason.status == 422
    missing = await guarded.staff("DELETE", "/v1/admin/halts/agent:nobody", OPERATOR)
    assert missing.status == 404


@pytest.mark.parametrize("key", [REPLENISH, APPROVER])
async def test_only_operators_halt(guarded: Guarded, key: str) -> None:
    answer = await guarded.staff("POST", "/v1/admin/halts", key, {"scope": "all", "reason": "x"})

    assert answer.status == 403
    assert (await guarded.invoke("warehouse.stock.get", STOCK, INVENTORY)).status == 200


async def test_halt_and_resume_from_the_command_line(
    guarded: Guarded, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(guarded.client.make_url("/")).rstrip("/")
    monkeypatch.setenv("LASTMILE_STAFF_KEY", OPERATOR)

    code = await asyncio.to_thread(
        main, ["halt", "agent", "replenishment-bot", "--reason", "runaway", "--url", url]
    )
    assert code == 0
    assert (await guarded.invoke("warehouse.stock.get", STOCK, REPLENISH)).status == 503

    code = await asyncio.to_thread(main, ["resume", "agent", "replenishment-bot", "--url", url])
    assert code == 0
    assert (await guarded.invoke("warehouse.stock.get", STOCK, REPLENISH)).status == 200
    assert "resumed_by" in capsys.readouterr().out
