"""ACME ERP finance over SOAP: canonical finance operations mapped onto its WSDL services.

The ERP speaks SAP FI (``KUNNR``, ``BELNR``, ``WRBTR``, ``WAERS``, ``BUDAT``) through
function-module-style services (``ZFI_CUSTOMER_GET`` ...); agents see ``Customer``,
``Invoice``, ``CreditNote`` and ``Payment``. Handlers only move fields: the SOAP client
returns plain Python (zeep already made ``xsd:decimal`` a ``Decimal`` and ``xsd:date`` a
``date``), raises faults and RETURN-table errors, and the pipeline validates the result.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from adapters.base import Canonical, OperationSet
from adapters.legacy import field
from adapters.soap import SoapClient
from schemas.common import Effect, Risk
from schemas.errors import BackendNotFound, BackendRejected, ContractViolation
from schemas.finance import (
    CreditNote,
    CreditNoteReason,
    CreditNoteRequest,
    Customer,
    CustomerList,
    CustomerQuery,
    CustomerSearch,
    Invoice,
    InvoiceList,
    InvoiceListQuery,
    InvoiceQuery,
    InvoiceStatus,
    Payment,
    PaymentMethod,
    PaymentRequest,
)

OWNER = "team-finance-systems"
STATUS = {"O": InvoiceStatus.OPEN, "P": InvoiceStatus.PARTIALLY_PAID, "C": InvoiceStatus.PAID}
STATUS |= {"S": InvoiceStatus.REVERSED}
STATUS_CODE = {status: code for code, status in STATUS.items()}
REASON_CODE = {
    CreditNoteReason.PRICE_DIFFERENCE: "051",
    CreditNoteReason.DAMAGED_GOODS: "052",
    CreditNoteReason.RETURNED_GOODS: "053",
    CreditNoteReason.GOODWILL: "054",
}
REASON = {code: reason for reason, code in REASON_CODE.items()}
METHOD_CODE = {
    PaymentMethod.BANK_TRANSFER: "T",
    PaymentMethod.DIRECT_DEBIT: "D",
    PaymentMethod.CHEQUE: "C",
    PaymentMethod.CARD: "K",
}
NOT_FOUND = frozenset({("F2", "163"), ("F5", "201")})
"""RETURN messages (ID, NUMBER) that mean "no such record": customer, document."""

operations: OperationSet[SoapClient] = OperationSet()


def kunnr(customer_id: str) -> str:
    return customer_id.zfill(10)


def customer_id(value: Any) -> str:
    return str(value).lstrip("0") or "0"


def rows(table: Any) -> list[Mapping[str, Any]]:
    """An SAP table (``{"item": [...]}``, or nothing when empty) as a list of rows."""
    if isinstance(table, Mapping):
        table = table.get("item")
    return [row for row in table or [] if isinstance(row, Mapping)]


def code(mapping: Mapping[str, Any], value: Any, name: str) -> Any:
    """A legacy code as its enum, or a contract violation naming the unknown code."""
    try:
        return mapping[str(value)]
    except KeyError:
        raise ContractViolation(f"The backend sent {name}={value!r}, an unknown code.") from None


async def call(client: SoapClient, operation: str, **params: Any) -> Mapping[str, Any]:
    """``client.call`` with the ERP's "does not exist" messages as ``backend_not_found``."""
    try:
        reply = await client.call(operation, **params)
    except BackendRejected as exc:
        messages = exc.extras.get("backend_messages")
        if isinstance(messages, list) and any(
            (m.get("id"), m.get("number")) in NOT_FOUND for m in messages
        ):
            detail = exc.detail.replace("rejected the request", "has no such record")
            raise BackendNotFound(detail) from exc
        raise
    return reply if isinstance(reply, Mapping) else {}


def money(amount: Any, currency: Any) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def customer(kna1: Mapping[str, Any]) -> Canonical:
    return {
        "customer_id": customer_id(field(kna1, "KUNNR")),
        "name": field(kna1, "NAME1"),
        "country": field(kna1, "LAND1"),
        "city": field(kna1, "ORT01"),
        "tax_id": field(kna1, "STCD1"),
        "iban": field(kna1, "IBAN"),
        "email": field(kna1, "SMTP_ADDR"),
        "phone": field(kna1, "TELF1"),
        "currency": field(kna1, "WAERS"),
        "blocked": (field(kna1, "SPERR") or "") == "X",
    }


def invoice_summary(header: Mapping[str, Any]) -> dict[str, Any]:
    waers = field(header, "WAERS")
    return {
        "invoice_number": field(header, "BELNR"),
        "fiscal_year": int(field(header, "GJAHR")),
        "customer_id": customer_id(field(header, "KUNNR")),
        "issue_date": field(header, "BLDAT"),
        "due_date": field(header, "ZFBDT"),
        "gross_amount": money(field(header, "WRBTR"), waers),
        "tax_amount": money(field(header, "MWSBP"), waers),
        "open_amount": money(field(header, "OPBTR"), waers),
        "status": code(STATUS, field(header, "STATUS"), "STATUS"),
    }


@operations.operation(
    "finance.customers.get",
    input=CustomerQuery,
    output=Customer,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner=OWNER,
)
async def get_customer(client: SoapClient, query: CustomerQuery) -> Canonical:
    """Read one customer's master record: name, country, invoicing currency, whether
    postings are blocked, and (if your scopes allow) tax id, IBAN and contact details.

    Use it before crediting a customer or to check who an invoice belongs to.
    """
    reply = await call(client, "ZFI_CUSTOMER_GET", KUNNR=kunnr(query.customer_id))
    return customer(field(reply, "CUSTOMER"))


@operations.operation(
    "finance.customers.search",
    input=CustomerSearch,
    output=CustomerList,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner=OWNER,
)
async def search_customers(client: SoapClient, query: CustomerSearch) -> Canonical:
    """Find customers by name ('*' is a wildcard, e.g. 'Nordwind*'), optionally in one
    country. Use it when you know a customer's name but not their customer number.
    """
    reply = await call(
        client, "ZFI_CUSTOMER_SEARCH", NAME1=query.name, LAND1=query.country, MAXROWS=query.limit
    )
    return {"customers": [customer(row) for row in rows(field(reply, "CUSTOMERS"))]}


@operations.operation(
    "finance.invoices.get",
    input=InvoiceQuery,
    output=Invoice,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner=OWNER,
)
async def get_invoice(client: SoapClient, query: InvoiceQuery) -> Canonical:
    """Read one invoice with its lines: amounts (gross, tax, still open), dates, status.

    The open amount is what can still be credited or paid against this invoice.
    """
    reply = await call(client, "ZFI_INVOICE_GET", BELNR=query.invoice_number)
    header = field(reply, "HEADER")
    waers = field(header, "WAERS")
    lines = [
        {
            "line": int(field(item, "BUZEI")),
            "material": field(item, "MATNR"),
            "description": field(item, "SGTXT"),
            "quantity": field(item, "MENGE"),
            "unit": field(item, "MEINS"),
            "net_amount": money(field(item, "NETWR"), waers),
        }
        for item in rows(reply.get("ITEMS"))
    ]
    return {**invoice_summary(header), "lines": lines}


@operations.operation(
    "finance.invoices.list",
    input=InvoiceListQuery,
    output=InvoiceList,
    effect=Effect.READ,
    idempotent=True,
    risk=Risk.LOW,
    owner=OWNER,
)
async def list_invoices(client: SoapClient, query: InvoiceListQuery) -> Canonical:
    """List a customer's invoices (headers only), optionally only those with one status
    such as 'open'. Use finance.invoices.get for the lines of one invoice.
    """
    status = STATUS_CODE[query.status] if query.status else None
    reply = await call(client, "ZFI_INVOICE_LIST", KUNNR=kunnr(query.customer_id), STATUS=status)
    return {"invoices": [invoice_summary(row) for row in rows(field(reply, "INVOICES"))]}


@operations.operation(
    "finance.credit_notes.create",
    input=CreditNoteRequest,
    output=CreditNote,
    effect=Effect.WRITE,
    idempotent=False,
    risk=Risk.HIGH,
    owner=OWNER,
    external_reference=True,
    reference_field="credit_note_number",
)
async def create_credit_note(client: SoapClient, request: CreditNoteRequest) -> Canonical:
    """Credit a customer against one of their invoices: posts a credit note in the books
    and lowers the invoice's open amount. This moves money.

    The amount must be in the invoice's currency and at most its open amount; blocked
    customers cannot be credited. Give a 'reference' (e.g. your ticket id) so the credit
    note can be found again. Calling this twice posts two credit notes.
    """
    reply = await call(
        client,
        "ZFI_CREDITNOTE_CREATE",
        KUNNR=kunnr(request.customer_id),
        REBZG=request.invoice_number,
        WRBTR=request.amount.amount,
        WAERS=request.amount.currency,
        RSTGR=REASON_CODE[request.reason],
        SGTXT=request.text,
        XREF=request.reference,
        EXTKEY=client.external_reference,  # the gateway's backend key: found again by it
        BUDAT=request.posting_date,
    )
    return {
        "credit_note_number": field(reply, "BELNR"),
        "fiscal_year": int(field(reply, "GJAHR")),
        "customer_id": customer_id(kunnr(request.customer_id)),
        "invoice_number": request.invoice_number,
        "amount": request.amount.model_dump(),
        "reason": request.reason,
        "text": request.text,
        "reference": request.reference,
        "posting_date": request.posting_date,
        "invoice_open_amount": money(field(reply, "OPBTR"), request.amount.currency),
    }


@operations.lookup("finance.credit_notes.create")
async def find_posted_credit_note(
    client: SoapClient, request: CreditNoteRequest, key: str
) -> Canonical | None:
    """The credit note an earlier try posted with backend key ``key``, if the ERP has it
    (its answer may have been lost to a timeout), in the operation's output shape."""
    reply = await call(client, "ZFI_CREDITNOTE_FIND", EXTKEY=key)
    found = rows(field(reply, "CREDITNOTES"))
    if not found:
        return None
    note = credit_note_row(found[0])
    invoice = field(await call(client, "ZFI_INVOICE_GET", BELNR=note["invoice_number"]), "HEADER")
    return {**note, "invoice_open_amount": money(field(invoice, "OPBTR"), field(invoice, "WAERS"))}


async def find_credit_notes(client: SoapClient, reference: str) -> list[dict[str, Any]]:
    """Credit notes already posted with this external reference (the ERP does not
    refuse duplicates, so a caller that must not post twice asks here first)."""
    reply = await call(client, "ZFI_CREDITNOTE_FIND", XREF=reference)
    return [credit_note_row(row) for row in rows(field(reply, "CREDITNOTES"))]


def credit_note_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """One CREDITNOTES row in canonical names (without the invoice's open amount)."""
    return {
        "credit_note_number": field(row, "BELNR"),
        "fiscal_year": int(field(row, "GJAHR")),
        "customer_id": customer_id(field(row, "KUNNR")),
        "invoice_number": field(row, "REBZG"),
        "amount": money(field(row, "WRBTR"), field(row, "WAERS")),
        "reason": code(REASON, field(row, "RSTGR"), "RSTGR"),
        "text": field(row, "SGTXT"),
        "reference": field(row, "XREF") or None,
        "posting_date": field(row, "BUDAT"),
    }


@operations.operation(
    "finance.payments.post",
    input=PaymentRequest,
    output=Payment,
    effect=Effect.WRITE,
    idempotent=False,
    risk=Risk.HIGH,
    owner=OWNER,
    reference_field="payment_number",
)
async def post_payment(client: SoapClient, request: PaymentRequest) -> Canonical:
    """Record a customer's incoming payment against one invoice; the invoice becomes
    'partially_paid' or 'paid'. This changes the books.

    The amount must be in the invoice's currency and at most its open amount. Calling
    this twice records two payments.
    """
    reply = await call(
        client,
        "ZFI_PAYMENT_POST",
        KUNNR=kunnr(request.customer_id),
        BELNR=request.invoice_number,
        WRBTR=request.amount.amount,
        WAERS=request.amount.currency,
        ZLSCH=METHOD_CODE[request.method],
        XREF=request.reference,
        BUDAT=request.payment_date,
    )
    return {
        "payment_number": field(reply, "AUGBL"),
        "fiscal_year": int(field(reply, "GJAHR")),
        "customer_id": customer_id(kunnr(request.customer_id)),
        "invoice_number": request.invoice_number,
        "amount": request.amount.model_dump(),
        "method": request.method,
        "reference": request.reference,
        "payment_date": request.payment_date,
        "invoice_open_amount": money(field(reply, "OPBTR"), request.amount.currency),
        "invoice_status": code(STATUS, field(reply, "STATUS"), "STATUS"),
    }
