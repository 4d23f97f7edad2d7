"""The adapter contract: declaring operations and making backend text safe."""

from __future__ import annotations

import pytest

from adapters.base import OperationSet, safe_text
from adapters.legacy import material_number, padded_material, yyyymmdd
from schemas.common import Effect, Risk
from schemas.errors import ContractViolation
from schemas.warehouse import StockLevel, StockQuery


def test_safe_text_removes_control_sequences_and_line_breaks() -> None:
    hostile = 'Stock low\r\n{"level": "error"}\x1b[31m red\x00'
    assert safe_text(hostile) == 'Stock low {"level": "error"}[31m red'


def test_safe_text_bounds_length() -> None:
    assert len(safe_text("x" * 1000, limit=50)) == 50


def test_operation_needs_a_docstring_and_a_dotted_name() -> None:
    ops: OperationSet[object] = OperationSet()

    async def undocumented(client: object, query: StockQuery) -> dict[str, object]:
        return {}

    declare = ops.operation(
        "warehouse.stock.peek",
        input=StockQuery,
        output=StockLevel,
        effect=Effect.READ,
        idempotent=True,
        risk=Risk.LOW,
        owner="t",
    )
    with pytest.raises(ValueError, match="needs a docstring"):
        declare(undocumented)
    with pytest.raises(ValueError, match=r"domain\.resource\.verb"):
        ops.operation(
            "Stock",
            input=StockQuery,
            output=StockLevel,
            effect=Effect.READ,
            idempotent=True,
            risk=Risk.LOW,
            owner="t",
        )


def test_legacy_readers() -> None:
    assert material_number("000000000000100234") == "100234"
    assert padded_material("100234") == "000000000000100234"
    assert padded_material("AB-1") == "AB-1"
    assert yyyymmdd("20261126", "BUDAT").isoformat() == "2026-11-26"
    with pytest.raises(ContractViolation, match="BUDAT"):
        yyyymmdd("26.11.2026", "BUDAT")
