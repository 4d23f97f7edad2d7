"""The sales vocabulary: business partners, sales orders with items, open amounts.

What agents see of an ERP's sales service (``adapters.acme_sales`` maps it to OData).
Tax numbers and e-mail addresses are marked :class:`Sensitive`. Records that can be
changed carry their ``etag``: pass it back to change the record, and read the record
again when the gateway answers ``backend_conflict``.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from schemas.common import CanonicalModel, Sensitive

PartnerNumber = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{1,10}$",
        description="Business partner number, up to 10 digits, e.g. '1000100'.",
        examples=["1000100"],
    ),
]
OrderNumber = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{10}$",
        description="Sales order number, 10 digits.",
        examples=["5000000001"],
    ),
]
ProductNumber = Annotated[
    str,
    Field(
        pattern=r"^[A-Z0-9-]{1,10}$",
        description="Product number, e.g. 'HT-1000'.",
        examples=["HT-1000"],
    ),
]
Amount = Annotated[Decimal, Field(max_digits=15, decimal_places=2)]
Quantity = Annotated[
    Decimal,
    Field(
        gt=0,
        max_digits=13,
        decimal_places=3,
        description="Quantity, at most 3 decimals.",
        examples=["2"],
    ),
]
ETag = Annotated[
    str,
    Field(
        min_length=1,
        max_length=200,
        pattern=r'^(W/)?"[^"\x00-\x1f]*"$',
        description="The record's version as last read (its etag); a change is refused with "
        "backend_conflict if the record changed since.",
        examples=['W/"1"'],
    ),
]


class PartnerCategory(StrEnum):
    PERSON = "Person"
    ORGANIZATION = "Organization"


class PartnerKey(CanonicalModel):
    """Identifies one business partner."""

    business_partner: PartnerNumber


class Address(CanonicalModel):
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: str | None = Field(default=None, description="ISO 3166 country code.")


class BusinessPartner(CanonicalModel):
    """A customer or supplier in the ERP."""

    business_partner: PartnerNumber
    name: str
    category: PartnerCategory
    email: Annotated[str | None, Sensitive("personal_contact")] = None
    tax_number: Annotated[str | None, Sensitive("tax_id")] = Field(
        default=None, description="Tax number (VAT id)."
    )
    credit_limit: Amount | None = None
    created_at: datetime | None = None
    partner_uuid: uuid.UUID | None = None
    address: Address | None = None
    etag: ETag


class PartnerSearch(CanonicalModel):
    """Which business partners to list; every condition given must hold."""

    name_contains: str | None = Field(
        default=None, min_length=1, max_length=80, description="Part of the name, any case."
    )
    category: PartnerCategory | None = None
    city: str | None = Field(default=None, min_length=1, max_length=40)
    top: int = Field(default=20, ge=1, le=100, description="At most this many partners.")


class PartnerList(CanonicalModel):
    partners: list[BusinessPartner]
    more: bool = Field(description="More partners match than were read.")


class PartnerEmailChange(CanonicalModel):
    """A new e-mail address for a business partner, against the version last read."""

    business_partner: PartnerNumber
    email: str = Field(pattern=r"^[^@\s]{1,64}@[^@\s]{1,180}$", max_length=241)
    etag: ETag


class PartnerChanged(CanonicalModel):
    business_partner: PartnerNumber
    etag: ETag | None = Field(default=None, description="The record's new version.")


class OrderItemNew(CanonicalModel):
    product: ProductNumber
    quantity: Quantity


class SalesOrderNew(CanonicalModel):
    """A sales order for a customer, created with its items in one step."""

    customer: PartnerNumber
    items: list[OrderItemNew] = Field(min_length=1, max_length=50)


class OrderItem(CanonicalModel):
    item_no: int
    product: ProductNumber
    quantity: Decimal
    net_amount: Amount | None = None


class SalesOrder(CanonicalModel):
    """A sales order with its items; amounts are net, in ``currency``."""

    sales_order: OrderNumber
    customer: PartnerNumber
    order_date: datetime | None = None
    net_amount: Amount | None = None
    currency: str | None = None
    status: str
    items: list[OrderItem] = Field(default_factory=list)
    etag: ETag | None = None


class OrderKey(CanonicalModel):
    """Identifies one sales order."""

    sales_order: OrderNumber


class OrderCancel(CanonicalModel):
    """Cancels (deletes) a sales order at the version last read."""

    sales_order: OrderNumber
    etag: ETag


class OrderCancelled(CanonicalModel):
    sales_order: OrderNumber


class OpenAmountQuery(CanonicalModel):
    customer: PartnerNumber


class OpenAmount(CanonicalModel):
    customer: PartnerNumber
    open_amount: Amount = Field(description="Net value of the customer's open sales orders.")
