"""The books of the ACME finance sandbox: SQLite tables and the business rules of each service.

Names follow SAP FI: customers in ``KNA1``, invoices with their open amount (``OPBTR``) and
status, credit notes and payments as their own documents. Each service takes the request's
fields (already schema-validated) and returns the reply's fields in XSD sequence order,
business errors as a ``RETURN`` table of BAPIRET2 rows, never as a fault.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

Reply = dict[str, Any]
Service = Callable[[sqlite3.Connection, dict[str, str]], Reply]

CUSTOMERS = [
    # KUNNR, NAME1, LAND1, ORT01, STCD1, IBAN, SMTP_ADDR, TELF1, WAERS, SPERR
    ("0000100001", "Baeckerei Schmidt GmbH", "DE", "Muenchen", "DE129273398",
     "DE89370400440532013000", "buchhaltung@baeckerei-schmidt.example", "+49 89 1234567",
     "EUR", ""),
    ("0000100002", "Nordwind Logistics AB", "SE", "Goeteborg", "SE556677889901",
     "SE4550000000058398257466", "ap@nordwind.example", "+46 31 765 43 21", "SEK", ""),
    ("0000100003", "Cafe Lumiere SARL", "FR", "Lyon", "FR40303265045",
     "FR1420041010050500013M02606", "compta@cafe-lumiere.example", "+33 4 72 00 00 00",
     "EUR", "X"),
]  # fmt: skip
INVOICES = [
    # BELNR, GJAHR, KUNNR, BLDAT, ZFBDT, WRBTR, MWSBP, OPBTR, WAERS, STATUS
    ("9000000001", "2026", "0000100001", "2026-10-05", "2026-11-04", "1190.00", "190.00",
     "1190.00", "EUR", "O"),
    ("9000000002", "2026", "0000100001", "2026-09-12", "2026-10-12", "238.00", "38.00",
     "0.00", "EUR", "C"),
    ("9000000003", "2026", "0000100002", "2026-10-20", "2026-11-19", "12500.00", "2500.00",
     "12500.00", "SEK", "O"),
    ("9000000004", "2026", "0000100003", "2026-11-02", "2026-12-02", "595.00", "95.00",
     "595.00", "EUR", "O"),
]  # fmt: skip
ITEMS = [
    # BELNR, BUZEI, MATNR, SGTXT, MENGE, MEINS, NETWR
    ("9000000001", "001", "RM-1150", "Rye flour type 1150, 25 kg", "40.000", "SAC", "600.00"),
    ("9000000001", "002", "SF-010", "Sunflower seeds, 10 kg", "20.000", "SAC", "400.00"),
    ("9000000002", "001", "YE-500", "Fresh yeast, 500 g", "100.000", "ST", "200.00"),
    ("9000000003", "001", "FR-PAL", "Pallet freight Hamburg-Goeteborg", "1.000", "LE",
     "10000.00"),
    ("9000000004", "001", "CB-ESP", "Espresso beans, 1 kg", "50.000", "ST", "500.00"),
]  # fmt: skip

HEADER_FIELDS = [
    "BELNR",
    "GJAHR",
    "KUNNR",
    "BLDAT",
    "ZFBDT",
    "WRBTR",
    "MWSBP",
    "OPBTR",
    "WAERS",
    "STATUS",
]
CUSTOMER_FIELDS = [
    "KUNNR",
    "NAME1",
    "LAND1",
    "ORT01",
    "STCD1",
    "IBAN",
    "SMTP_ADDR",
    "TELF1",
    "WAERS",
    "SPERR",
]
CREDIT_FIELDS = [
    "BELNR",
    "GJAHR",
    "KUNNR",
    "REBZG",
    "WRBTR",
    "WAERS",
    "RSTGR",
    "SGTXT",
    "XREF",
    "BUDAT",
]


def open_books(path: Path) -> sqlite3.Connection:
    """Open (and on first use create and seed) the sandbox's SQLite books."""
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.executescript(
        """
        CREATE TABLE IF NOT EXISTS KNA1 (KUNNR TEXT PRIMARY KEY, NAME1 TEXT, LAND1 TEXT,
            ORT01 TEXT, STCD1 TEXT, IBAN TEXT, SMTP_ADDR TEXT, TELF1 TEXT, WAERS TEXT,
            SPERR TEXT);
        CREATE TABLE IF NOT EXISTS VBRK (BELNR TEXT PRIMARY KEY, GJAHR TEXT, KUNNR TEXT,
            BLDAT TEXT, ZFBDT TEXT, WRBTR TEXT, MWSBP TEXT, OPBTR TEXT, WAERS TEXT,
            STATUS TEXT);
        CREATE TABLE IF NOT EXISTS VBRP (BELNR TEXT, BUZEI TEXT, MATNR TEXT, SGTXT TEXT,
            MENGE TEXT, MEINS TEXT, NETWR TEXT, PRIMARY KEY (BELNR, BUZEI));
        CREATE TABLE IF NOT EXISTS CRNOTE (BELNR TEXT PRIMARY KEY, GJAHR TEXT, KUNNR TEXT,
            REBZG TEXT, WRBTR TEXT, WAERS TEXT, RSTGR TEXT, SGTXT TEXT, XREF TEXT, BUDAT TEXT,
            EXTKEY TEXT);
        CREATE TABLE IF NOT EXISTS PAYMT (AUGBL TEXT PRIMARY KEY, GJAHR TEXT, KUNNR TEXT,
            BELNR TEXT, WRBTR TEXT, WAERS TEXT, ZLSCH TEXT, XREF TEXT, BUDAT TEXT);
        """
    )
    if db.execute("SELECT COUNT(*) FROM KNA1").fetchone()[0] == 0:
        db.executemany("INSERT INTO KNA1 VALUES (?,?,?,?,?,?,?,?,?,?)", CUSTOMERS)
        db.executemany("INSERT INTO VBRK VALUES (?,?,?,?,?,?,?,?,?,?)", INVOICES)
        db.executemany("INSERT INTO VBRP VALUES (?,?,?,?,?,?,?)", ITEMS)
    return db


def message(kind: str, msg_id: str, number: str, text: str) -> dict[str, str]:
    """One BAPIRET2 row."""
    return {"TYPE": kind, "ID": msg_id, "NUMBER": number, "MESSAGE": text}


def _ok(text: str) -> list[dict[str, str]]:
    return [message("S", "ZFI", "000", text)]


def _error(msg_id: str, number: str, text: str) -> list[dict[str, str]]:
    return [message("E", msg_id, number, text)]


def _customer(db: sqlite3.Connection, kunnr: str) -> dict[str, str] | None:
    row = db.execute("SELECT * FROM KNA1 WHERE KUNNR = ?", (kunnr,)).fetchone()
    return dict(zip(CUSTOMER_FIELDS, row, strict=True)) if row else None


def _invoice(db: sqlite3.Connection, belnr: str) -> dict[str, str] | None:
    row = db.execute("SELECT * FROM VBRK WHERE BELNR = ?", (belnr,)).fetchone()
    return dict(zip(HEADER_FIELDS, row, strict=True)) if row else None


def customer_get(db: sqlite3.Connection, req: dict[str, str]) -> Reply:
    customer = _customer(db, req["KUNNR"])
    if customer is None:
        return {"RETURN": _error("F2", "163", f"Customer {req['KUNNR']} does not exist")}
    return {"CUSTOMER": customer, "RETURN": _ok("Customer read")}


def customer_search(db: sqlite3.Connection, req: dict[str, str]) -> Reply:
    pattern = req["NAME1"].replace("%", "").replace("*", "%")
    sql = "SELECT * FROM KNA1 WHERE NAME1 LIKE ?"
    args: list[str] = [pattern]
    if req.get("LAND1"):
        sql += " AND LAND1 = ?"
        args.append(req["LAND1"])
    limit = int(req.get("MAXROWS") or 50)
    rows = db.execute(sql + " ORDER BY KUNNR LIMIT ?", (*args, limit)).fetchall()
    customers = [dict(zip(CUSTOMER_FIELDS, row, strict=True)) for row in rows]
    return {"CUSTOMERS": customers, "RETURN": _ok(f"{len(customers)} customer(s) found")}


def invoice_get(db: sqlite3.Connection, req: dict[str, str]) -> Reply:
    header = _invoice(db, req["BELNR"])
    if header is None:
        return {"ITEMS": [], "RETURN": _error("F5", "201", f"Document {req['BELNR']} not found")}
    rows = db.execute(
        "SELECT BUZEI, MATNR, SGTXT, MENGE, MEINS, NETWR FROM VBRP WHERE BELNR = ? ORDER BY BUZEI",
        (req["BELNR"],),
    ).fetchall()
    fields = ("BUZEI", "MATNR", "SGTXT", "MENGE", "MEINS", "NETWR")
    items = [dict(zip(fields, row, strict=True)) for row in rows]
    return {"HEADER": header, "ITEMS": items, "RETURN": _ok("Document read")}


def invoice_list(db: sqlite3.Connection, req: dict[str, str]) -> Reply:
    if _customer(db, req["KUNNR"]) is None:
        missing = _error("F2", "163", f"Customer {req['KUNNR']} does not exist")
        return {"INVOICES": [], "RETURN": missing}
    sql, args = "SELECT * FROM VBRK WHERE KUNNR = ?", [req["KUNNR"]]
    if req.get("STATUS"):
        sql += " AND STATUS = ?"
        args.append(req["STATUS"])
    rows = db.execute(sql + " ORDER BY BELNR", args).fetchall()
    invoices = [dict(zip(HEADER_FIELDS, row, strict=True)) for row in rows]
    return {"INVOICES": invoices, "RETURN": _ok(f"{len(invoices)} document(s) found")}


def _check_posting(
    db: sqlite3.Connection, req: dict[str, str], belnr: str
) -> tuple[dict[str, str], Decimal] | list[dict[str, str]]:
    """The invoice and amount a credit or payment applies to, or the RETURN that refuses it."""
    customer = _customer(db, req["KUNNR"])
    if customer is None:
        return _error("F2", "163", f"Customer {req['KUNNR']} does not exist")
    if customer["SPERR"] == "X":
        return _error("F2", "120", f"Customer {req['KUNNR']} is blocked for posting")
    invoice = _invoice(db, belnr)
    if invoice is None or invoice["KUNNR"] != req["KUNNR"]:
        return _error("F5", "201", f"Invoice {belnr} not found for customer {req['KUNNR']}")
    if req["WAERS"] != invoice["WAERS"]:
        text = f"Currency {req['WAERS']} differs from invoice currency {invoice['WAERS']}"
        return _error("ZFI", "011", text)
    amount, open_amount = Decimal(req["WRBTR"]), Decimal(invoice["OPBTR"])
    if amount > open_amount:
        text = f"Amount {amount:.2f} {req['WAERS']} exceeds open amount {open_amount:.2f}"
        return _error("ZFI", "012", f"{text} of invoice {belnr}")
    return invoice, open_amount - amount


def _next_number(db: sqlite3.Connection, table: str, column: str, first: int) -> str:
    row = db.execute(f"SELECT MAX({column}) FROM {table}").fetchone()  # noqa: S608 - constants
    return str(int(row[0]) + 1 if row[0] else first)


def _apply(db: sqlite3.Connection, invoice: dict[str, str], open_after: Decimal) -> str:
    status = "C" if open_after == 0 else "P"
    db.execute(
        "UPDATE VBRK SET OPBTR = ?, STATUS = ? WHERE BELNR = ?",
        (f"{open_after:.2f}", status, invoice["BELNR"]),
    )
    return status


def credit_note_create(db: sqlite3.Connection, req: dict[str, str]) -> Reply:
    db.execute("BEGIN IMMEDIATE")
    checked = _check_posting(db, req, req["REBZG"])
    if isinstance(checked, list):
        db.execute("ROLLBACK")
        return {"RETURN": checked}
    invoice, open_after = checked
    belnr = _next_number(db, "CRNOTE", "BELNR", 1700000001)
    gjahr = req["BUDAT"][:4]
    db.execute(
        "INSERT INTO CRNOTE VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (belnr, gjahr, req["KUNNR"], req["REBZG"], f"{Decimal(req['WRBTR']):.2f}", req["WAERS"],
         req["RSTGR"], req["SGTXT"], req.get("XREF", ""), req["BUDAT"], req.get("EXTKEY", "")),
    )  # fmt: skip
    _apply(db, invoice, open_after)
    db.execute("COMMIT")
    return {
        "BELNR": belnr,
        "GJAHR": gjahr,
        "OPBTR": f"{open_after:.2f}",
        "RETURN": _ok(f"Document {belnr} was posted in company code 1000"),
    }


def credit_note_find(db: sqlite3.Connection, req: dict[str, str]) -> Reply:
    column, value = (
        ("EXTKEY", req["EXTKEY"]) if req.get("EXTKEY") else ("XREF", req.get("XREF", ""))
    )
    rows = db.execute(
        f"SELECT {', '.join(CREDIT_FIELDS)} FROM CRNOTE WHERE {column} = ? ORDER BY BELNR",  # noqa: S608 - fixed names
        (value,),
    )
    notes = [dict(zip(CREDIT_FIELDS, row, strict=True)) for row in rows.fetchall()]
    return {"CREDITNOTES": notes, "RETURN": _ok(f"{len(notes)} document(s) found")}


def payment_post(db: sqlite3.Connection, req: dict[str, str]) -> Reply:
    db.execute("BEGIN IMMEDIATE")
    checked = _check_posting(db, req, req["BELNR"])
    if isinstance(checked, list):
        db.execute("ROLLBACK")
        return {"RETURN": checked}
    invoice, open_after = checked
    augbl = _next_number(db, "PAYMT", "AUGBL", 1400000001)
    gjahr = req["BUDAT"][:4]
    db.execute(
        "INSERT INTO PAYMT VALUES (?,?,?,?,?,?,?,?,?)",
        (augbl, gjahr, req["KUNNR"], req["BELNR"], f"{Decimal(req['WRBTR']):.2f}", req["WAERS"],
         req["ZLSCH"], req.get("XREF", ""), req["BUDAT"]),
    )  # fmt: skip
    status = _apply(db, invoice, open_after)
    db.execute("COMMIT")
    return {
        "AUGBL": augbl,
        "GJAHR": gjahr,
        "OPBTR": f"{open_after:.2f}",
        "STATUS": status,
        "RETURN": _ok(f"Document {augbl} was posted in company code 1000"),
    }


SERVICES: dict[str, Service] = {
    "ZFI_CUSTOMER_GET": customer_get,
    "ZFI_CUSTOMER_SEARCH": customer_search,
    "ZFI_INVOICE_GET": invoice_get,
    "ZFI_INVOICE_LIST": invoice_list,
    "ZFI_CREDITNOTE_CREATE": credit_note_create,
    "ZFI_CREDITNOTE_FIND": credit_note_find,
    "ZFI_PAYMENT_POST": payment_post,
}
WRITES = frozenset({"ZFI_CREDITNOTE_CREATE", "ZFI_PAYMENT_POST"})


def counts(db: sqlite3.Connection) -> dict[str, int]:
    """Documents posted so far, for ``/_sandbox/stats``."""
    return {
        "credit_notes": db.execute("SELECT COUNT(*) FROM CRNOTE").fetchone()[0],
        "payments": db.execute("SELECT COUNT(*) FROM PAYMT").fetchone()[0],
    }
