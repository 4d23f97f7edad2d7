"""Demo chapter: a sales agent at the ACME sales ERP, which speaks SAP-flavoured OData V2.

The agent sees JSON operations; behind the gateway every call is OData: an OAuth token
from the ERP's token endpoint, ``GET …/BusinessPartners('1000100')`` with the ``d``
envelope and ``/Date(ms)/`` instants, a CSRF token fetched before the first write, a
deep insert of a sales order with its items, and ETags guarding changes.
"""

from __future__ import annotations

from gateway.demo.session import DemoContext

AGENT = "sales-bot"
CUSTOMER = "1000100"


async def play(demo: DemoContext) -> None:
    demo.step("sales-bot reads a business partner  (OData V2, SAP flavour, from here on)")
    read = await demo.invoke("sales.business_partners.get", AGENT, {"business_partner": CUSTOMER})
    demo.expect(read, 200, lambda b: b["output"]["name"] == "Becker Berlin GmbH")
    partner = read.body["output"]
    demo.say("   ERP got      GET …/ZACME_SALES_SRV/BusinessPartners('1000100')  (OAuth token)")
    demo.say(
        f"   agent got    {partner['name']}, {partner['address']['city']}, credit limit "
        f"{partner['credit_limit']} EUR, customer since {partner['created_at'][:10]}, "
        f"tax number {partner['tax_number']}, etag {partner['etag']}"
    )

    demo.step("sales-bot creates a sales order with two items  (one deep insert)")
    order = {
        "customer": CUSTOMER,
        "items": [
            {"product": "HT-1000", "quantity": "2"},
            {"product": "HT-6100", "quantity": "25"},
        ],
    }
    created = await demo.invoke(
        "sales.orders.create", AGENT, order, **{"Idempotency-Key": "demo-order-1"}
    )
    demo.expect(created, 200, lambda b: len(b["output"]["items"]) == 2)
    made = created.body["output"]
    demo.say("   ERP got      X-CSRF-Token: Fetch, then POST …/SalesOrders with to_Item inline")
    for item in made["items"]:
        demo.say(
            f"   {item['item_no']:>4}  {item['product']:<8} {item['quantity']:>6}  "
            f"{item['net_amount']:>9} EUR"
        )
    demo.say(
        f"   sales order {made['sales_order']}: net {made['net_amount']} {made['currency']}, "
        f"status {made['status']}"
    )

    demo.step("a change against an old version is a conflict: read again, then change")
    stale = {"business_partner": CUSTOMER, "email": "orders@becker.example", "etag": 'W/"0"'}
    conflict = await demo.invoke("sales.business_partners.update", AGENT, stale)
    demo.expect(conflict, 409, lambda b: b["code"] == "backend_conflict")
    demo.say(f"   HTTP 409 {conflict.body['code']}: {conflict.body['detail'][:90]}…")
    fresh = {**stale, "etag": partner["etag"]}
    changed = await demo.invoke("sales.business_partners.update", AGENT, fresh)
    demo.expect(changed, 200, lambda b: b["output"]["etag"] != partner["etag"])
    demo.say(f"   with etag {partner['etag']}: changed, new etag {changed.body['output']['etag']}")

    demo.step("sales-bot may not cancel orders  (policy)")
    cancel = {"sales_order": made["sales_order"], "etag": made["etag"]}
    denied = await demo.invoke("sales.orders.cancel", AGENT, cancel)
    demo.expect(denied, 403, lambda b: b["code"] == "policy_denied")
    demo.say(f"   HTTP 403 {denied.body['code']}: {denied.body['detail']}")
