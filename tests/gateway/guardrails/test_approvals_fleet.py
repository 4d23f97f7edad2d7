"""One approvals desk for a fleet: two gateways, each with its own local directory and
clock, share held calls through PostgreSQL (``guardrails.approvals.store: postgres``).

A call held on one is listed, decided and run (exactly once) on the other; concurrent
approvals on both let one win; expiry and self-approval hold from either side; and while
PostgreSQL is unreachable every approval route and every call that would be held answers
``503 approvals_unavailable`` with nothing held, decided or run.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from tests.conftest import APPROVER, REPLENISH
from tests.cuttable_proxy import CuttableProxy
from tests.gateway.guardrails.conftest import (
    POLICIES,
    FakeClock,
    Guarded,
    guarded_config,
    movement,
)
from tests.gateway.guardrails.test_approvals import OBO, WRITE, hold
from tests.postgres_db import postgres_dsn

__all__ = ["postgres_dsn"]

FLEET_GUARDRAILS = """
guardrails:
  policies: ["${POLICY_FILE}"]
  approvals:
    store: postgres
    expire_after: 1h
postgres:
  dsn: ${PG_DSN}
  connect_timeout: 2s
  pool_max: 4
"""

StartFleet = Callable[[str], Awaitable[tuple[Guarded, Guarded]]]


@pytest.fixture
async def start_fleet(wms: TestServer, tmp_path: Path) -> AsyncIterator[StartFleet]:
    """Two gateways on one WMS sandbox and one database, as two hosts would be."""
    clients: list[TestClient[Any, Any]] = []

    async def start(dsn: str) -> tuple[Guarded, Guarded]:
        url = str(wms.make_url("/")).rstrip("/")
        gateways = []
        for name in ("host1", "host2"):
            local = tmp_path / name
            local.mkdir()
            clock = FakeClock()
            config = guarded_config(url, local, FLEET_GUARDRAILS, POLICIES, PG_DSN=dsn)
            client: TestClient[Any, Any] = TestClient(
                TestServer(build_app(config, clock=clock), host="127.0.0.1")
            )
            await client.start_server()
            clients.append(client)
            gateways.append(Guarded(client, wms, local / "audit.sqlite", clock))
        return gateways[0], gateways[1]

    yield start
    for client in clients:
        await client.close()


@pytest.fixture
async def fleet(postgres_dsn: str, start_fleet: StartFleet) -> tuple[Guarded, Guarded]:
    return await start_fleet(postgres_dsn)


async def decide(gateway: Guarded, held: dict[str, Any], verb: str = "approve") -> Any:
    return await gateway.staff(
        "POST", f"{held['status_url']}/{verb}", APPROVER, {"reason": "PO confirmed"}
    )


async def status(gateway: Guarded, held: dict[str, Any]) -> dict[str, Any]:
    answer = await gateway.staff("GET", held["status_url"], REPLENISH)
    assert answer.status == 200
    body: dict[str, Any] = await answer.json()
    return body


async def pending_ids(gateway: Guarded) -> list[str]:
    answer = await gateway.staff("GET", "/v1/approvals?status=pending", APPROVER)
    assert answer.status == 200
    return [a["id"] for a in (await answer.json())["approvals"]]


async def test_a_call_held_on_one_gateway_is_approved_on_the_other_and_runs_once(
    fleet: tuple[Guarded, Guarded],
) -> None:
    one, two = fleet
    held = await hold(one)
    assert await pending_ids(two) == [held["approval_id"]]
    writes = await one.wms_calls()

    approved = await decide(two, held)

    assert approved.status == 200
    body = await approved.json()
    assert body["status"] == "executed"
    assert body["result"]["quantity"] == "150"
    assert await one.wms_calls() == writes + 1
    seen_by_agent = await status(one, held)
    assert seen_by_agent["status"] == "executed"
    assert seen_by_agent["result"] == body["result"]
    assert seen_by_agent["execution_request_id"] == body["execution_request_id"]
    again = await decide(one, held)
    assert again.status == 409
    assert (await again.json())["code"] == "approval_closed"
    assert await one.wms_calls() == writes + 1
    [executed] = await two.audit(request_id=body["execution_request_id"])
    assert executed.outcome == "ok"
    assert executed.approval is not None
    assert executed.approval.approval_id == held["approval_id"]
    assert await pending_ids(one) == []


async def test_concurrent_approvals_on_both_gateways_run_the_call_once(
    fleet: tuple[Guarded, Guarded],
) -> None:
    one, two = fleet
    held = await hold(one)
    writes = await one.wms_calls()

    answers = await asyncio.gather(*(decide(gateway, held) for gateway in (one, two) * 3))

    assert sorted(a.status for a in answers) == [200, 409, 409, 409, 409, 409]
    losers = [await a.json() for a in answers if a.status == 409]
    assert {problem["code"] for problem in losers} == {"approval_closed"}
    assert await one.wms_calls() == writes + 1
    assert (await status(two, held))["status"] == "executed"


async def test_expiry_on_one_gateways_clock_is_seen_by_the_other(
    fleet: tuple[Guarded, Guarded],
) -> None:
    one, two = fleet
    held = await hold(one)
    two.clock.advance(3599)
    assert (await status(two, held))["status"] == "pending"

    two.clock.advance(1)

    assert (await status(two, held))["status"] == "expired"
    assert (await status(one, held))["status"] == "expired"  # its own clock has not moved
    late = await decide(one, held)
    assert late.status == 409
    assert (await late.json())["code"] == "approval_closed"
    assert await pending_ids(one) == []


async def test_nobody_approves_their_own_request_on_any_gateway(
    fleet: tuple[Guarded, Guarded],
) -> None:
    one, two = fleet
    held = await hold(one, **{"X-On-Behalf-Of": "maria.schmidt@acme.example"})
    writes = await one.wms_calls()

    for gateway in (one, two):
        own = await decide(gateway, held)
        assert own.status == 403
        assert (await own.json())["code"] == "self_approval"

    assert (await status(two, held))["status"] == "pending"
    assert await one.wms_calls() == writes


async def test_while_postgres_is_unreachable_nothing_is_held_decided_or_run(
    postgres_dsn: str, start_fleet: StartFleet
) -> None:
    proxy = CuttableProxy.before(postgres_dsn)
    await proxy.start()
    try:
        one, two = await start_fleet(proxy.dsn(postgres_dsn))
        held = await hold(one)
        writes = one.wms_postings()
        proxy.cut()

        second = movement(quantity="200", reference="PO-2")
        retry_key = {**OBO, "Idempotency-Key": "po-2-movement"}
        refused_hold = await one.invoke(WRITE, second, REPLENISH, **retry_key)
        answers = [
            refused_hold,
            await two.staff("GET", held["status_url"], REPLENISH),
            await two.staff("GET", held["status_url"], APPROVER),
            await two.staff("GET", "/v1/approvals?status=pending", APPROVER),
            await decide(two, held),
            await decide(one, held, "reject"),
        ]
        for answer in answers:
            assert answer.status == 503
            problem = await answer.json()
            assert problem["code"] == "approvals_unavailable"
            assert postgres_dsn.rpartition("/")[2] not in str(problem)  # no DSN, no database
        assert one.wms_postings() == writes
        [refused] = await one.audit(request_id=refused_hold.headers["X-Request-Id"])
        assert refused.outcome == "approvals_unavailable"
        assert "lastmile_approvals_pending NaN" in await (await two.client.get("/metrics")).text()

        proxy.restore()
        assert await pending_ids(two) == [held["approval_id"]]
        retried = await one.invoke(WRITE, second, REPLENISH, **retry_key)  # the key stayed free
        assert retried.status == 202
        again_held = (await retried.json())["approval_id"]
        assert sorted(await pending_ids(two)) == sorted([held["approval_id"], again_held])
        approved = await decide(two, held)
        assert approved.status == 200
        assert (await approved.json())["status"] == "executed"
        assert one.wms_postings() == writes + 1
    finally:
        await proxy.close()


async def test_an_outcome_that_cannot_be_recorded_leaves_the_approval_executing(
    postgres_dsn: str, start_fleet: StartFleet
) -> None:
    """The one step that cannot be undone is the backend write: if PostgreSQL goes away
    while it runs, the approver still learns the outcome, the call never runs twice, and
    the stored approval names the audited request that carries the outcome."""
    proxy = CuttableProxy.before(postgres_dsn)
    await proxy.start()
    try:
        one, two = await start_fleet(proxy.dsn(postgres_dsn))
        held = await hold(one)
        writes = await one.wms_calls()
        await one.fault("hold")
        approving = asyncio.create_task(decide(two, held))
        await one.wait_held(1)
        proxy.cut()
        async with ClientSession() as http:
            await http.post(one.wms.make_url("/_sandbox/release"))
        answer = await approving
        await one.fault("ok")

        assert answer.status == 200
        body = await answer.json()
        assert body["status"] == "executed"
        proxy.restore()
        stored = await status(one, held)
        assert stored["status"] == "executing"
        assert stored["execution_request_id"] == body["execution_request_id"]
        [executed] = await two.audit(request_id=body["execution_request_id"])
        assert executed.outcome == "ok"
        assert await one.wms_calls() == writes + 1
        again = await decide(one, held)
        assert again.status == 409
        assert await one.wms_calls() == writes + 1
    finally:
        await proxy.close()


async def test_the_openapi_document_names_approvals_unavailable_where_it_is_answered(
    guarded: Guarded,
) -> None:
    document = await (await guarded.client.get("/openapi.json")).json()
    routes = [
        (f"/v1/operations/{WRITE}", "post"),
        ("/v1/approvals", "get"),
        ("/v1/approvals/{id}", "get"),
        ("/v1/approvals/{id}/approve", "post"),
        ("/v1/approvals/{id}/reject", "post"),
    ]
    for path, verb in routes:
        responses = document["paths"][path][verb]["responses"]
        assert "approvals_unavailable" in responses["503"]["description"], (path, verb)
