"""Readers for the wire formats legacy systems use, failing as contract violations.

A backend that sends ``"12,5 ST"`` where a quantity belongs has broken its contract;
the agent must get a clear ``backend_contract_violation``, not a crash or a guess.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from schemas.errors import ContractViolation


def field(record: Any, name: str) -> Any:
    """``record[name]``, or a contract violation naming the missing field."""
    if not isinstance(record, Mapping) or name not in record:
        raise ContractViolation(f"The backend answer lacks the field {name!r}.")
    return record[name]


def yyyymmdd(value: Any, name: str) -> date:
    """A ``YYYYMMDD`` date string as a :class:`date`."""
    text = str(value)
    try:  # by hand: strptime costs more than the rest of the mapping together
        if len(text) != 8 or not text.isdigit():
            raise ValueError(text)
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError as exc:
        raise ContractViolation(f"The backend sent {name}={value!r}, not a YYYYMMDD date.") from exc


def material_number(value: Any) -> str:
    """An 18-digit zero-padded material number in its short, human form."""
    text = str(value)
    return text.lstrip("0") or "0" if text.isdigit() else text


def padded_material(material: str) -> str:
    """The inverse of :func:`material_number` for numeric material numbers."""
    return material.zfill(18) if material.isdigit() else material
