"""Demo chapter: a customer-care agent at the ACME finance ERP, which speaks SOAP.

The agent sees JSON operations; behind the gateway every call is a SOAP 1.1 envelope
to function-module-style services (``ZFI_CUSTOMER_GET`` ...), with SAP field names,
zero-padded numbers and a RETURN table for business errors.
"""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal

from gateway.demo.session import DemoContext

AGENT = "support-bot"
CUSTOMER = "100001"
INVOICE = "9000000001"


async def play(demo: DemoContext) -> None:
    demo.step("support-bot finds a customer by name  (SOAP from here on)")
    found = await demo.invoke("finance.customers.search", AGENT, {"name": "Baeckerei*"})
    demo.expect(found, 200, lambda b: b["output"]["customers"][0]["customer_id"] == CUSTOMER)
    for customer in found.body["output"]["customers"]:
        demo.say(f"   {customer['customer_id']:>8}  {customer['name']} ({customer['country']})")

    demo.step("support-bot reads the customer  (SOAP: ZFI_CUSTOMER_GET)")
    read = await demo.invoke("finance.customers.get", AGENT, {"customer_id": CUSTOMER})
    demo.expect(read, 200, lambda b: b["output"]["currency"] == "EUR")
    out = read.body["output"]
    demo.say(f"   agent sent   {json.dumps({'customer_id': CUSTOMER})}")
    demo.say("   ERP got      <ZFI_CUSTOMER_GET><KUNNR>0000100001</KUNNR></ZFI_CUSTOMER_GET>")
    demo.say(
        f"   agent got    {out['name']}, {out['city']}, invoiced in {out['currency']}, "
        f"blocked={out['blocked']}"
    )

    demo.step("support-bot lists the customer's open invoices")
    listed = await demo.invoke(
        "finance.invoices.list", AGENT, {"customer_id": CUSTOMER, "status": "open"}
    )
    demo.expect(listed, 200, lambda b: b["output"]["invoices"][0]["invoice_number"] == INVOICE)
    for inv in listed.body["output"]["invoices"]:
        demo.say(
            f"   {inv['invoice_number']}  due {inv['due_date']}  open "
            f"{inv['open_amount']['amount']} {inv['open_amount']['currency']}  {inv['status']}"
        )

    demo.step("support-bot reads one invoice with its lines")
    invoice = await demo.invoke("finance.invoices.get", AGENT, {"invoice_number": INVOICE})
    demo.expect(invoice, 200, lambda b: len(b["output"]["lines"]) == 2)
    open_before = Decimal(invoice.body["output"]["open_amount"]["amount"])
    for line in invoice.body["output"]["lines"]:
        net = line["net_amount"]
        demo.say(
            f"   {line['line']}. {line['description']:<30} {line['quantity']:>8} {line['unit']:<4}"
            f" {net['amount']:>8} {net['currency']}"
        )

    demo.step("support-bot credits 25.00 EUR for damaged goods  (a write)")
    credit = {
        "customer_id": CUSTOMER,
        "invoice_number": INVOICE,
        "amount": {"amount": "25.00", "currency": "EUR"},
        "reason": "damaged_goods",
        "text": "2 sacks of rye flour torn on delivery",
        "reference": "CASE-4711",
        "posting_date": date.today().isoformat(),
    }
    posted = await demo.invoke(
        "finance.credit_notes.create",
        AGENT,
        credit,
        **{"X-On-Behalf-Of": "jonas.weber@acme.example"},
    )
    expected_open = open_before - Decimal("25.00")
    demo.expect(
        posted,
        200,
        lambda b: Decimal(b["output"]["invoice_open_amount"]["amount"]) == expected_open,
    )
    note = posted.body["output"]
    demo.say(
        f"   credit note {note['credit_note_number']}/{note['fiscal_year']}; invoice open amount "
        f"{open_before} -> {note['invoice_open_amount']['amount']} EUR"
    )

    demo.step("crediting more than is open: the ERP refuses (RETURN table)")
    too_much = {**credit, "amount": {"amount": "5000.00", "currency": "EUR"}}
    refused = await demo.invoke("finance.credit_notes.create", AGENT, too_much)
    demo.expect(refused, 422, lambda b: b["code"] == "backend_rejected")
    demo.say(f"   HTTP 422 {refused.body['code']}: {refused.body['detail']}")

    demo.step("support-bot may not post payments")
    payment = {
        "customer_id": CUSTOMER,
        "invoice_number": INVOICE,
        "amount": {"amount": "100.00", "currency": "EUR"},
        "method": "bank_transfer",
        "payment_date": date.today().isoformat(),
    }
    denied = await demo.invoke("finance.payments.post", AGENT, payment)
    demo.expect(denied, 403, lambda b: b["code"] == "forbidden")
    demo.say(f"   HTTP 403 {denied.body['code']}: {denied.body['detail']}")
