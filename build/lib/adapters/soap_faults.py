"""SOAP faults and SAP-style RETURN tables, translated into the gateway's error hierarchy.

A SOAP fault says *who* is at fault: ``Client``/``Sender`` (the request is wrong: a
retry fails the same way) or ``Server``/``Receiver`` (the backend could not do it now:
a later retry may succeed). SAP BAPIs also report business errors inside a successful
reply, in a ``RETURN`` table of ``BAPIRET2`` rows; a row of ``TYPE`` ``E`` (error) or
``A`` (abort) means the call did not happen, whatever the HTTP status said.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from zeep.exceptions import Fault

from adapters.base import safe_text
from schemas.errors import BackendFault, BackendRejected

RETRYABLE_FAULT_CODES = frozenset({"Server", "Receiver"})
"""Fault codes (local part, before any SOAP 1.1 ``.`` refinement) that mean "try later"."""

FAILED_TYPES = frozenset({"E", "A"})
"""BAPIRET2 ``TYPE`` values that mean the call failed (S, I and W rows are information)."""


def fault_error(fault: Fault, soap_version: str) -> BackendFault:
    """The :class:`BackendFault` for a SOAP fault, classified retryable or not by its code."""
    code = _local(fault.code) or ("Receiver" if soap_version == "1.2" else "Server")
    base = code.split(".")[0]
    retryable = base in RETRYABLE_FAULT_CODES
    subcodes = [_local(str(getattr(s, "localname", s))) for s in (fault.subcodes or [])]
    shown = "/".join([code, *subcodes])
    advice = (
        "The backend could not process it now; retrying later may succeed."
        if retryable
        else "The backend says the request itself is wrong; retrying it unchanged will fail."
    )
    message = safe_text(fault.message or "no fault message")
    return BackendFault(
        f"The backend answered with a SOAP fault ({shown}): {message}. {advice}",
        fault_code=shown,
        retryable=retryable,
    )


def _local(code: object) -> str:
    if code is None:
        return ""
    text = str(code).strip()
    if text.startswith("{"):
        text = text.rpartition("}")[2]
    return text.rpartition(":")[2]


def business_errors(reply: Any) -> None:
    """Raise :class:`BackendRejected` if the reply's ``RETURN`` table holds an E or A row."""
    if not isinstance(reply, Mapping):
        return
    rows = _rows(reply.get("RETURN"))
    failed = [row for row in rows if str(row.get("TYPE", "")).strip() in FAILED_TYPES]
    if not failed:
        return
    messages = [
        {
            "type": str(row.get("TYPE", "")).strip(),
            "id": safe_text(row.get("ID") or "", 40),
            "number": safe_text(row.get("NUMBER") or "", 10),
            "message": safe_text(row.get("MESSAGE") or "no message text"),
        }
        for row in failed
    ]
    text = "; ".join(m["message"] for m in messages)
    raise BackendRejected(
        f"The backend rejected the request: {safe_text(text)}",
        extras={"backend_messages": messages},
    )


def _rows(table: Any) -> list[Mapping[str, Any]]:
    """RETURN as a single row, a list of rows, or SAP's ``{"item": [...]}`` wrapper."""
    if isinstance(table, Mapping) and "item" in table:
        table = table["item"]
    if isinstance(table, Mapping):
        table = [table]
    if not isinstance(table, list):
        return []
    return [row for row in table if isinstance(row, Mapping)]
