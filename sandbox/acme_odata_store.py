"""The ACME sales service's data: entity sets, SQLite persistence, seed records.

Each record is stored as one JSON document per row (decimals as strings, instants as
ISO 8601 UTC, binary as base64), with a version number that is its ETag. Both the V4
and the V2 (SAP) flavour of ``sandbox.acme_odata`` serve the same rows, each rendering
them its own way.
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["SETS", "EntitySet", "Store"]


@dataclass(frozen=True, slots=True)
class EntitySet:
    """What the sandbox knows of an entity set: its keys and its properties' Edm types.
    ``items`` is the navigation to an order's items (V4 ``Items``, V2 ``to_Item``)."""

    name: str
    type_name: str
    keys: tuple[str, ...]
    types: dict[str, str]
    required: tuple[str, ...] = ()
    max_length: dict[str, int] = field(default_factory=dict)
    concurrency: bool = True
    items: str = ""


SETS = {
    "BusinessPartners": EntitySet(
        "BusinessPartners",
        "BusinessPartner",
        ("BusinessPartnerID",),
        {
            "BusinessPartnerID": "Edm.String",
            "Name": "Edm.String",
            "Category": "AcmeSales.PartnerCategory",
            "Email": "Edm.String",
            "TaxNumber": "Edm.String",
            "CreditLimit": "Edm.Decimal",
            "CreatedAt": "Edm.DateTimeOffset",
            "PartnerUUID": "Edm.Guid",
            "Address": "AcmeSales.Address",
        },
        required=("Name",),
        max_length={"BusinessPartnerID": 10, "Name": 80, "Email": 241, "TaxNumber": 20},
    ),
    "Products": EntitySet(
        "Products",
        "Product",
        ("ProductID",),
        {
            "ProductID": "Edm.String",
            "Name": "Edm.String",
            "Price": "Edm.Decimal",
            "Currency": "Edm.String",
            "Weight": "Edm.Decimal",
            "Picture": "Edm.Binary",
        },
        required=("ProductID", "Name", "Price", "Currency"),
        max_length={"ProductID": 10, "Name": 40, "Currency": 3},
        concurrency=False,
    ),
    "SalesOrders": EntitySet(
        "SalesOrders",
        "SalesOrder",
        ("SalesOrderID",),
        {
            "SalesOrderID": "Edm.String",
            "CustomerID": "Edm.String",
            "OrderDate": "Edm.DateTimeOffset",
            "NetAmount": "Edm.Decimal",
            "Currency": "Edm.String",
            "Status": "Edm.String",
            "ExternalReference": "Edm.String",
        },
        required=("CustomerID",),
        max_length={"CustomerID": 10, "ExternalReference": 40, "Currency": 3},
        items="Items",
    ),
    "SalesOrderItems": EntitySet(
        "SalesOrderItems",
        "SalesOrderItem",
        ("SalesOrderID", "ItemNo"),
        {
            "SalesOrderID": "Edm.String",
            "ItemNo": "Edm.Int32",
            "ProductID": "Edm.String",
            "Quantity": "Edm.Decimal",
            "NetAmount": "Edm.Decimal",
        },
        required=("ProductID", "Quantity"),
        max_length={"ProductID": 10},
        concurrency=False,
    ),
}

# fmt: off
_SEED: list[tuple[str, dict[str, Any]]] = [
    *(
        (
            "Products",
            {
                "ProductID": pid,
                "Name": name,
                "Price": price,
                "Currency": "EUR",
                "Weight": weight,
                "Picture": None,
            },
        )
        for pid, name, price, weight in [
            ("HT-1000", "Notebook Basic 15", "956.00", "4.2"),
            ("HT-1001", "Notebook Basic 17", "1249.00", "4.5"),
            ("HT-1010", "Notebook Professional 15", "1999.00", "4.3"),
            ("HT-2000", "Flat Screen 21 inch", "399.00", "3.125"),
            ("HT-6100", "USB Stick 16 GB", "12.99", "0.02"),
        ]
    ),
    *(
        (
            "BusinessPartners",
            {
                "BusinessPartnerID": bp,
                "Name": name,
                "Category": category,
                "Email": email,
                "TaxNumber": tax,
                "CreditLimit": limit,
                "CreatedAt": created,
                "PartnerUUID": str(uuid.uuid5(uuid.NAMESPACE_URL, f"acme:bp:{bp}")),
                "Address": {
                    "Street": street,
                    "City": city,
                    "PostalCode": zipcode,
                    "Country": country,
                },
            },
        )
        for bp, name, category, email, tax, limit, created, street, city, zipcode, country in [
            (
                "1000100",
                "Becker Berlin GmbH",
                "Organization",
                "orders@becker.example",
                "DE123456789",
                "50000.00",
                "2024-03-01T08:00:00Z",
                "Kurfürstendamm 12",
                "Berlin",
                "10719",
                "DE",
            ),
            (
                "1000101",
                "Müller & O'Brien KG",
                "Organization",
                "einkauf@mob.example",
                "DE987654321",
                "12000.00",
                "2025-01-15T12:30:00Z",
                "Hafenstraße 3",
                "Hamburg",
                "20457",
                "DE",
            ),
            (
                "1000102",
                "Anna Schmidt",
                "Person",
                None,
                None,
                "1000.00",
                "2026-06-30T23:59:59Z",
                "Lindenweg 5",
                "München",
                "80331",
                "DE",
            ),
        ]
    ),
]

# fmt: on


class Store:
    """Records by entity set in one SQLite file (``check_same_thread=False``: the
    sandbox's handlers all run on its one event loop)."""

    def __init__(self, path: Path) -> None:
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self.db.executescript(
            """
            CREATE TABLE IF NOT EXISTS records (
                set_name TEXT NOT NULL, key TEXT NOT NULL, doc TEXT NOT NULL,
                version INTEGER NOT NULL DEFAULT 1, PRIMARY KEY (set_name, key));
            CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER);
            """
        )
        if self.db.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 0:
            for set_name, doc in _SEED:
                self.insert(set_name, doc)

    def close(self) -> None:
        self.db.close()

    @staticmethod
    def key_of(entity: EntitySet, doc: dict[str, Any]) -> str:
        return json.dumps([doc.get(k) for k in entity.keys])

    def rows(self, set_name: str) -> Iterator[tuple[dict[str, Any], int]]:
        for doc, version in self.db.execute(
            "SELECT doc, version FROM records WHERE set_name = ? ORDER BY rowid", (set_name,)
        ):
            yield json.loads(doc), version

    def get(self, set_name: str, key: dict[str, Any]) -> tuple[dict[str, Any], int] | None:
        entity = SETS[set_name]
        row = self.db.execute(
            "SELECT doc, version FROM records WHERE set_name = ? AND key = ?",
            (set_name, self.key_of(entity, key)),
        ).fetchone()
        return (json.loads(row[0]), row[1]) if row else None

    def insert(self, set_name: str, doc: dict[str, Any]) -> int:
        self.db.execute(
            "INSERT INTO records (set_name, key, doc) VALUES (?, ?, ?)",
            (set_name, self.key_of(SETS[set_name], doc), json.dumps(doc)),
        )
        return 1

    def replace(self, set_name: str, doc: dict[str, Any]) -> int:
        """Store the changed ``doc``; its new version (ETag)."""
        key = self.key_of(SETS[set_name], doc)
        self.db.execute(
            "UPDATE records SET doc = ?, version = version + 1 WHERE set_name = ? AND key = ?",
            (json.dumps(doc), set_name, key),
        )
        row = self.db.execute(
            "SELECT version FROM records WHERE set_name = ? AND key = ?", (set_name, key)
        ).fetchone()
        return int(row[0])

    def delete(self, set_name: str, key: dict[str, Any]) -> None:
        self.db.execute(
            "DELETE FROM records WHERE set_name = ? AND key = ?",
            (set_name, self.key_of(SETS[set_name], key)),
        )

    def next_number(self, name: str, start: int) -> int:
        self.db.execute(
            "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + 1",
            (name, start),
        )
        return int(
            self.db.execute("SELECT value FROM counters WHERE name = ?", (name,)).fetchone()[0]
        )

    def transaction(self) -> sqlite3.Connection:
        """``with store.transaction():`` makes a deep insert all-or-nothing."""
        self.db.execute("BEGIN")
        return self.db
