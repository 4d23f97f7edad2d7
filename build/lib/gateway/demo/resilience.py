"""Demo chapter: an agent retries a write, and the warehouse still books it once."""

from __future__ import annotations

import uuid
from datetime import date

from gateway.demo.session import DemoContext, DemoFailed

STOCK = {"material": "100235", "plant": "1000"}


async def play(demo: DemoContext) -> None:
    receipt = {
        "material": "100235",
        "plant": "1000",
        "kind": "receipt",
        "quantity": "80",
        "posting_date": date.today().isoformat(),
        "reference": "PO-4712",
    }
    key = {"Idempotency-Key": str(uuid.uuid4())}

    demo.step("replenishment-bot books a receipt with an Idempotency-Key")
    receipt_headers = {**key, "X-On-Behalf-Of": "maria.schmidt@acme.example"}
    first = await demo.invoke(
        "warehouse.goods_movements.create", "replenishment-bot", receipt, **receipt_headers
    )
    demo.expect(first, 200)
    document = first.body["output"]["document_number"]
    demo.say(f"   Idempotency-Key: {key['Idempotency-Key']}")
    demo.say(f"   material document {document}, stock after {first.body['output']['stock_after']}")

    demo.step("its connection dropped, so it sends the same call again")
    calls_before = await _wms_calls(demo)
    again = await demo.invoke(
        "warehouse.goods_movements.create", "replenishment-bot", receipt, **receipt_headers
    )
    demo.expect(again, 200, lambda b: b["output"]["document_number"] == document)
    if await _wms_calls(demo) != calls_before:
        raise DemoFailed("the replayed call reached the warehouse")
    demo.say(
        f"   the same answer, replayed (Idempotent-Replayed: "
        f"{again.headers.get('Idempotent-Replayed')}); the warehouse was not called again"
    )

    demo.step("the same key with another quantity is refused")
    changed = {**receipt, "quantity": "90"}
    reused = await demo.invoke(
        "warehouse.goods_movements.create", "replenishment-bot", changed, **receipt_headers
    )
    demo.expect(reused, 422, lambda b: b["code"] == "idempotency_key_reused")
    demo.say(f"   HTTP 422 {reused.body['code']}: {reused.body['detail']}")

    demo.step("every answer tells the agent its rate limit")
    read = await demo.invoke("warehouse.stock.get", "inventory-bot", STOCK)
    demo.expect(read, 200, lambda b: float(b["output"]["quantity"]) == 4080)
    demo.say(f"   RateLimit-Policy: {read.headers.get('RateLimit-Policy')}")
    demo.say(f"   RateLimit:        {read.headers.get('RateLimit')}")


async def _wms_calls(demo: DemoContext) -> int:
    async with demo.http.get(demo.sandbox_urls["acme_wms"] + "/_sandbox/stats") as response:
        return int((await response.json())["api_calls"])
