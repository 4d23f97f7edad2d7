"""The warehouse vocabulary: items, stock levels and goods movements."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from schemas.common import CanonicalModel, Sensitive

MaterialNumber = Annotated[
    str,
    Field(
        min_length=1,
        max_length=18,
        pattern=r"^[A-Z0-9-]+$",
        description="Material number, upper-case letters, digits and '-', e.g. '100234'.",
        examples=["100234"],
    ),
]
Plant = Annotated[
    str,
    Field(
        pattern=r"^[A-Z0-9]{4}$",
        description="Four-character plant code, e.g. '1000'.",
        examples=["1000"],
    ),
]
Quantity = Annotated[
    Decimal,
    Field(
        max_digits=13,
        decimal_places=3,
        description="Quantity in the item's base unit, at most 3 decimal places.",
        examples=["12.5"],
    ),
]


class ItemQuery(CanonicalModel):
    """Identifies one item in the item master."""

    material: MaterialNumber


class Item(CanonicalModel):
    """An item from the item master."""

    material: MaterialNumber
    description: str = Field(description="Short description of the item.")
    base_unit: str = Field(description="Unit in which stock is counted, e.g. 'PC', 'KG'.")
    gross_weight_kg: Decimal | None = Field(
        default=None, description="Gross weight of one base unit in kilograms, if recorded."
    )
    responsible_buyer: Annotated[str | None, Sensitive("personal_contact")] = Field(
        default=None,
        description="E-mail address of the buyer responsible for the item (personal data: "
        "shown only to agents holding the 'personal_contact' scope).",
    )


class StockQuery(CanonicalModel):
    """Identifies the stock of one item in one plant."""

    material: MaterialNumber
    plant: Plant


class StockLevel(CanonicalModel):
    """Unrestricted stock of one item in one plant."""

    material: MaterialNumber
    plant: Plant
    storage_location: str = Field(description="Storage location within the plant.")
    quantity: Quantity
    unit: str = Field(description="Unit of the quantity, e.g. 'PC'.")
    last_changed: date = Field(description="Date of the last goods movement for this stock.")


class MovementKind(StrEnum):
    """Why stock changes; maps to the legacy movement types."""

    RECEIPT = "receipt"
    ISSUE = "issue"
    SCRAP = "scrap"


class GoodsMovementRequest(CanonicalModel):
    """Posts a goods movement that changes the stock of one item in one plant."""

    material: MaterialNumber
    plant: Plant
    kind: MovementKind = Field(description="'receipt' adds stock, 'issue' and 'scrap' remove it.")
    quantity: Annotated[Quantity, Field(gt=0)]
    posting_date: date = Field(description="Date the movement is booked on, YYYY-MM-DD.")
    reference: str | None = Field(
        default=None,
        max_length=16,
        description="Optional external reference (e.g. a ticket id), at most 16 characters.",
    )


class GoodsMovement(CanonicalModel):
    """A posted goods movement, as the warehouse system recorded it."""

    document_number: str = Field(description="Material document number assigned by the system.")
    fiscal_year: int
    material: MaterialNumber
    plant: Plant
    kind: MovementKind
    quantity: Quantity
    posting_date: date
    reference: str | None = None
    stock_after: Quantity = Field(description="Unrestricted stock after the movement.")
