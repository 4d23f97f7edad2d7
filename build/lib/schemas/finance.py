"""The finance vocabulary: customers, invoices, credit notes and payments.

Money is a ``Decimal`` amount with an ISO 4217 currency, never a float; dates are dates;
the legacy system's one-letter and three-digit codes are enums with names an agent can
read. Tax ids, bank accounts and contact details are marked :class:`Sensitive`.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from schemas.common import CanonicalModel, Sensitive

CustomerId = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,10}$",
        description="Customer number, digits only, e.g. '100001' (leading zeros optional).",
        examples=["100001"],
    ),
]
DocumentNumber = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{10}$",
        description="Ten-digit accounting document number, e.g. '9000000001'.",
        examples=["9000000001"],
    ),
]
CurrencyCode = Annotated[
    str,
    Field(
        pattern=r"^[A-Z]{3}$",
        description="ISO 4217 currency code, e.g. 'EUR'.",
        examples=["EUR"],
    ),
]
CountryCode = Annotated[
    str,
    Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country, e.g. 'DE'."),
]
Amount = Annotated[
    Decimal,
    Field(
        max_digits=15,
        decimal_places=2,
        description="Amount with at most 2 decimal places, as a string, e.g. '119.00'.",
        examples=["119.00"],
    ),
]
Reference = Annotated[
    str,
    Field(
        min_length=1,
        max_length=35,
        pattern=r"^[A-Za-z0-9._:/-]+$",
        description="Your own reference (e.g. a ticket id), stored with the document so it "
        "can be found again; letters, digits and . _ : / - only.",
        examples=["TICKET-4711"],
    ),
]


class Money(CanonicalModel):
    """An amount of money in one currency."""

    amount: Amount
    currency: CurrencyCode


class PositiveMoney(Money):
    """An amount of money greater than zero."""

    amount: Annotated[Amount, Field(gt=0)]


class CustomerQuery(CanonicalModel):
    """Identifies one customer."""

    customer_id: CustomerId


class Customer(CanonicalModel):
    """A customer master record."""

    customer_id: CustomerId
    name: str = Field(description="Legal name of the customer.")
    country: CountryCode
    city: str
    tax_id: Annotated[str, Sensitive("tax_id")] = Field(description="VAT registration number.")
    iban: Annotated[str, Sensitive("bank_account")] = Field(description="Bank account (IBAN).")
    email: Annotated[str, Sensitive("personal_contact")] = Field(
        description="Accounts payable e-mail address."
    )
    phone: Annotated[str, Sensitive("personal_contact")]
    currency: CurrencyCode = Field(description="Currency the customer is invoiced in.")
    blocked: bool = Field(description="True if postings (credit notes, payments) are blocked.")


class CustomerSearch(CanonicalModel):
    """Finds customers by name."""

    name: str = Field(
        min_length=1,
        max_length=35,
        description="Name or part of it; '*' is a wildcard, e.g. 'Baeckerei*'.",
        examples=["Baeckerei*"],
    )
    country: CountryCode | None = None
    limit: int = Field(default=20, ge=1, le=100, description="At most this many results.")


class CustomerList(CanonicalModel):
    customers: list[Customer]


class InvoiceStatus(StrEnum):
    """Where an invoice stands; maps to the ERP's status letters O, P, C, S."""

    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    REVERSED = "reversed"


class InvoiceQuery(CanonicalModel):
    """Identifies one invoice."""

    invoice_number: DocumentNumber


class InvoiceListQuery(CanonicalModel):
    """The invoices of one customer, optionally only those with one status."""

    customer_id: CustomerId
    status: InvoiceStatus | None = None


class InvoiceLine(CanonicalModel):
    line: int = Field(ge=1)
    material: str
    description: str
    quantity: Annotated[Decimal, Field(max_digits=13, decimal_places=3)]
    unit: str
    net_amount: Money


class InvoiceSummary(CanonicalModel):
    """An invoice header: who owes how much, by when."""

    invoice_number: DocumentNumber
    fiscal_year: int
    customer_id: CustomerId
    issue_date: date
    due_date: date
    gross_amount: Money
    tax_amount: Money
    open_amount: Money = Field(description="What is still owed after credits and payments.")
    status: InvoiceStatus


class Invoice(InvoiceSummary):
    """An invoice with its lines."""

    lines: list[InvoiceLine]


class InvoiceList(CanonicalModel):
    invoices: list[InvoiceSummary]


class CreditNoteReason(StrEnum):
    """Why a customer is credited; maps to the ERP's reason codes 051-054."""

    PRICE_DIFFERENCE = "price_difference"
    DAMAGED_GOODS = "damaged_goods"
    RETURNED_GOODS = "returned_goods"
    GOODWILL = "goodwill"


class CreditNoteRequest(CanonicalModel):
    """Credits a customer against one of their invoices."""

    customer_id: CustomerId
    invoice_number: DocumentNumber
    amount: PositiveMoney = Field(description="At most the invoice's open amount, same currency.")
    reason: CreditNoteReason
    text: str = Field(min_length=1, max_length=50, description="Short explanation for the books.")
    reference: Reference | None = None
    posting_date: date = Field(description="Date the credit note is booked on, YYYY-MM-DD.")


class CreditNote(CanonicalModel):
    """A posted credit note."""

    credit_note_number: DocumentNumber
    fiscal_year: int
    customer_id: CustomerId
    invoice_number: DocumentNumber
    amount: Money
    reason: CreditNoteReason
    text: str
    reference: str | None = None
    posting_date: date
    invoice_open_amount: Money = Field(description="The invoice's open amount after the credit.")


class PaymentMethod(StrEnum):
    """How the customer paid; maps to the ERP's payment method letters T, D, C, K."""

    BANK_TRANSFER = "bank_transfer"
    DIRECT_DEBIT = "direct_debit"
    CHEQUE = "cheque"
    CARD = "card"


class PaymentRequest(CanonicalModel):
    """Records an incoming payment against one invoice."""

    customer_id: CustomerId
    invoice_number: DocumentNumber
    amount: PositiveMoney = Field(description="At most the invoice's open amount, same currency.")
    method: PaymentMethod
    reference: Reference | None = None
    payment_date: date


class Payment(CanonicalModel):
    """A posted payment and what it left open on the invoice."""

    payment_number: DocumentNumber
    fiscal_year: int
    customer_id: CustomerId
    invoice_number: DocumentNumber
    amount: Money
    method: PaymentMethod
    reference: str | None = None
    payment_date: date
    invoice_open_amount: Money
    invoice_status: InvoiceStatus
