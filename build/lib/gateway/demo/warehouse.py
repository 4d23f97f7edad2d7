"""Demo chapter: an inventory agent and a replenishment agent at the ACME warehouse (REST)."""

from __future__ import annotations

import json
from datetime import date

from gateway.demo.session import DemoContext

STOCK = {"material": "100234", "plant": "1000"}


async def play(demo: DemoContext) -> None:
    demo.step("Is everything up?  GET /readyz")
    ready = await demo.call("GET", "/readyz", None)
    demo.expect(ready, 200, lambda b: b["ready"])
    for backend in ready.body["backends"]:
        demo.say(f"   backend {backend['name']}: ready ({backend['latency_ms']} ms)")

    demo.step("inventory-bot discovers its catalog  GET /v1/operations")
    catalog = await demo.call("GET", "/v1/operations", "inventory-bot")
    demo.expect(catalog, 200, lambda b: len(b["operations"]) >= 2)
    for op in catalog.body["operations"]:
        first_line = op["description"].splitlines()[0]
        demo.say(f"   {op['name']:<22} {op['effect']:<5} risk={op['risk']:<6} {first_line}")
    demo.say("   (warehouse.goods_movements.create exists, but is not in this agent's catalog)")

    demo.step("inventory-bot reads stock  POST /v1/operations/warehouse.stock.get")
    read = await demo.invoke("warehouse.stock.get", "inventory-bot", STOCK)
    demo.expect(read, 200, lambda b: b["output"]["material"] == "100234")
    before = read.body["output"]
    demo.say(f"   agent sent   {json.dumps(STOCK)}")
    demo.say(
        "   ERP has      MATNR=000000000000100234 WERKS=1000 LABST=00000125.000 LAEDA=20261102"
    )
    demo.say(f"   agent got    {json.dumps(before)}")
    demo.say(f"   Server-Timing: {read.headers.get('Server-Timing')}")

    demo.step("inventory-bot sends a bad input: rejected before the ERP sees it")
    bad = {"material": "100234", "plant": 1000, "warehouse": "north"}
    invalid = await demo.invoke("warehouse.stock.get", "inventory-bot", bad)
    demo.expect(invalid, 422, lambda b: b["code"] == "validation_failed")
    demo.say(f"   agent sent   {json.dumps(bad)}")
    demo.say(f"   HTTP 422 {invalid.body['code']}")
    for error in invalid.body["errors"]:
        demo.say(
            f"   - {error['field']}: {error['message']}"
            + (f"; expected {error['expected']}" if error["expected"] else "")
            + f"; got {error['received']}"
        )

    demo.step("inventory-bot tries to post a goods movement: forbidden")
    movement = {
        "material": "100234",
        "plant": "1000",
        "kind": "receipt",
        "quantity": "50",
        "posting_date": date.today().isoformat(),
        "reference": "PO-4711",
    }
    denied = await demo.invoke("warehouse.goods_movements.create", "inventory-bot", movement)
    demo.expect(denied, 403, lambda b: b["code"] == "forbidden")
    demo.say(f"   HTTP 403 {denied.body['code']}: {denied.body['detail']}")

    demo.step("replenishment-bot books a receipt for a planner  (a write)")
    posted = await demo.invoke(
        "warehouse.goods_movements.create",
        "replenishment-bot",
        movement,
        **{"X-On-Behalf-Of": "maria.schmidt@acme.example"},
    )
    expected_after = float(before["quantity"]) + 50
    demo.expect(posted, 200, lambda b: float(b["output"]["stock_after"]) == expected_after)
    out = posted.body["output"]
    demo.say(
        f"   material document {out['document_number']}/{out['fiscal_year']}, "
        f"stock after: {out['stock_after']}"
    )

    demo.step("inventory-bot reads the stock again: the write is visible")
    again = await demo.invoke("warehouse.stock.get", "inventory-bot", STOCK)
    demo.expect(again, 200, lambda b: float(b["output"]["quantity"]) == expected_after)
    after = again.body["output"]
    demo.say(f"   quantity {before['quantity']} -> {after['quantity']} {after['unit']}")

    demo.step("a revoked key is turned away")
    revoked = await demo.invoke("warehouse.stock.get", "retired-bot", STOCK)
    demo.expect(revoked, 401, lambda b: b["code"] == "unauthenticated")
    demo.say(f"   HTTP 401 {revoked.body['code']}: {revoked.body['detail']}")
