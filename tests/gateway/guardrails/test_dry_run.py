"""Dry runs: every guardrail answers, the legacy payload is shown, nothing is written
and nothing is spent."""

from __future__ import annotations

from sandbox.acme_warehouse import DB
from schemas.audit import Decision
from tests.conftest import APPROVER, INVENTORY, REPLENISH
from tests.gateway.guardrails.conftest import Guarded, movement

WRITE = "warehouse.goods_movements.create"
DRY = {"X-Dry-Run": "true", "X-On-Behalf-Of": "lea.fischer@acme.example"}


async def wms_documents(gateway: Guarded) -> int:
    return int(gateway.wms.app[DB].execute("SELECT COUNT(*) FROM MKPF").fetchone()[0])


async def test_dry_run_shows_the_legacy_payload_and_the_stock_change(guarded: Guarded) -> None:
    response = await guarded.invoke(
        WRITE, movement(kind="issue", quantity="25.5", reference="T-1"), REPLENISH, **DRY
    )

    assert response.status == 200
    report = await response.json()
    assert report["dry_run"] is True
    assert report["decision"] == "allow"
    assert report["policy_ids"] == ["planners-write"]
    assert report["backend_request"] == {
        "method": "POST",
        "path": "/api/v1/goodsmovement",
        "query": None,
        "body": {
            "MATNR": "000000000000100234",
            "WERKS": "1000",
            "BWART": "201",
            "ERFMG": "25.500",
            "BUDAT": "20261126",
            "XBLNR": "T-1",
            "EXTREF": "",  # no Idempotency-Key, so no backend key to attach
        },
    }
    assert report["before"]["quantity"] == "125.000"
    assert report["after"]["quantity"] == "99.500"
    assert await guarded.stock() == "125.000"
    assert await wms_documents(guarded) == 0
    [event] = await guarded.audit(request_id=response.headers["X-Request-Id"])
    assert event.decision is Decision.DRY_RUN
    assert event.dry_run is True
    assert event.detail == "dry run: would allow"
    assert event.before == report["before"]
    assert event.after == report["after"]


async def test_dry_run_spends_no_budget(guarded: Guarded) -> None:
    for _ in range(10):
        dry = await guarded.invoke(WRITE, movement(quantity="100"), REPLENISH, **DRY)
        assert (await dry.json())["budgets"][0]["exceeded"] is False
    for _ in range(5):
        real = await guarded.invoke(WRITE, movement(quantity="100"), REPLENISH)
        assert real.status == 200

    dry = await guarded.invoke(WRITE, movement(quantity="1"), REPLENISH, **DRY)

    report = await dry.json()
    assert report["decision"] == "deny"
    assert report["budgets"] == [
        {
            "budget": "quantity-24h",
            "mode": "enforce",
            "used": "500",
            "amount": "1",
            "limit": "500",
            "exceeded": True,
            "resets_at": "2027-01-16T00:00:00Z",
        }
    ]
    assert report["backend_request"] is None


async def test_dry_run_reports_a_policy_denial(guarded: Guarded) -> None:
    response = await guarded.invoke(WRITE, movement(kind="scrap"), REPLENISH, **DRY)

    assert response.status == 200
    report = await response.json()
    assert report["decision"] == "deny"
    assert report["policy_ids"] == ["no-scrap"]
    assert report["reasons"] == ["Agents may not scrap stock."]


async def test_dry_run_of_a_call_needing_approval_holds_nothing(guarded: Guarded) -> None:
    response = await guarded.invoke(WRITE, movement(quantity="150"), REPLENISH, **DRY)

    report = await response.json()
    assert report["decision"] == "approval_required"
    assert report["backend_request"]["body"]["ERFMG"] == "150.000"
    assert report["after"]["quantity"] == "275.000"
    pending = await guarded.staff("GET", "/v1/approvals?status=pending", APPROVER)
    assert (await pending.json())["approvals"] == []


async def test_dry_run_of_a_read_captures_the_request_without_sending_it(
    guarded: Guarded,
) -> None:
    calls = await guarded.wms_calls()

    response = await guarded.invoke(
        "warehouse.stock.get", {"material": "100234", "plant": "1000"}, INVENTORY, **DRY
    )

    report = await response.json()
    assert report["backend_request"] == {
        "method": "GET",
        "path": "/api/v1/MARD",
        "query": {"MATNR": "000000000000100234", "WERKS": "1000"},
        "body": None,
    }
    assert await guarded.wms_calls() == calls


async def test_dry_run_header_must_be_a_boolean(guarded: Guarded) -> None:
    response = await guarded.invoke(
        "warehouse.stock.get",
        {"material": "100234", "plant": "1000"},
        INVENTORY,
        **{"X-Dry-Run": "perhaps"},
    )

    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "header:X-Dry-Run"


async def test_dry_run_still_authenticates_and_validates(guarded: Guarded) -> None:
    assert (await guarded.invoke(WRITE, movement(), None, **DRY)).status == 401
    assert (await guarded.invoke(WRITE, movement(), INVENTORY, **DRY)).status == 403
    bad = await guarded.invoke(WRITE, {**movement(), "quantity": "-1"}, REPLENISH, **DRY)
    assert bad.status == 422
