"""The generator over every description of the real-world corpus: SAP S/4HANA, Xero,
Square, Business Central, Shipwire.

Each output passes ``ruff check`` with the project's config, imports, declares one
operation per path and method, and passes its own contract test; for named fields of
each description we check the constraint survived into the model, and the quirks
SOURCES.md lists were repaired and reported rather than refused.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from adapters.base import _OPERATION_NAME, OperationSet
from adapters.openapi import json_number
from adapters.rest import RestAdapter, RestSettings
from schemas.common import Effect
from tests.adapters.codegen.openapi.conftest import REPO, Generated, corpus_specs

EXPECTED_OPERATIONS = {
    "oa_sap_s_4_hana_sales_order": 158,
    "oa_xero_accounting": 235,
    "oa_square_connect": 224,
    "oa_ms_business_central_v_1": 324,
    "oa_shipwire_warehouse": 9,
}
SAP, XERO, SQUARE = "oa_sap_s_4_hana_sales_order", "oa_xero_accounting", "oa_square_connect"
BC, SHIPWIRE = "oa_ms_business_central_v_1", "oa_shipwire_warehouse"


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@pytest.mark.parametrize("package", sorted(corpus_specs()) or ["(corpus missing)"])
def test_every_corpus_description_generates_an_importable_adapter(
    corpus: Generated, package: str
) -> None:
    operations = corpus.adapter(package).operations
    assert isinstance(operations, OperationSet)
    declared = [d.operation for d in operations]
    assert len(declared) == EXPECTED_OPERATIONS[package] == corpus.results[package].operations
    assert len({op.name for op in declared}) == len(declared)
    for op in declared:
        assert _OPERATION_NAME.match(op.name), op.name
        assert len(op.name) <= 64  # a valid tool name for every MCP client
        assert op.description


def test_generated_code_passes_ruff_with_the_project_config(generated_openapi: Generated) -> None:
    result = subprocess.run(  # noqa: S603 - our own ruff on our own output
        [_tool("ruff"), "check", "--config", str(REPO / "pyproject.toml"),
         str(generated_openapi.root)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_generated_code_passes_ruff_outside_the_clone(generated_openapi: Generated) -> None:
    """Beside a clone ruff does not count ``adapters`` as first-party: the import block
    must sort the same there (issue 15)."""
    result = subprocess.run(  # noqa: S603 - our own ruff on our own output
        [_tool("ruff"), "check", "--isolated", "--line-length", "100", "--select", "E,F,I,W",
         str(generated_openapi.root)],
        cwd=generated_openapi.root, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_generated_contract_tests_pass(generated_openapi: Generated) -> None:
    root = generated_openapi.root
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(root)])}
    result = subprocess.run(  # noqa: S603 - pytest on the generated packages
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio",
         "-W", "error", "--rootdir", str(root), str(root)],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout
    if SQUARE in generated_openapi.results:
        assert generated_openapi.results[SQUARE].contract_cases >= 300


def test_effect_follows_the_method(corpus: Generated) -> None:
    ops = {d.operation.name: d.operation for d in corpus.adapter(XERO).operations}
    assert ops[f"{XERO}.accounting.get_invoices"].effect is Effect.READ
    assert ops[f"{XERO}.accounting.create_invoices"].effect is Effect.WRITE
    assert ops[f"{XERO}.accounting.delete_account"].risk.value == "high"


def test_sap_string_decimals_keep_range_and_step(corpus: Generated) -> None:
    model = corpus.models(SAP).ApiSalesOrderSrvASalesOrderBillingPlanItemType
    ok = model.model_validate_json('{"BillingPlanAmountPercent": "12.50"}', strict=True)
    assert ok.billing_plan_amount_percent == Decimal("12.50")
    for bad in ('"12.505"', '"1000.00"', '"-1000"'):
        with pytest.raises(ValidationError):
            model.model_validate_json(f'{{"BillingPlanAmountPercent": {bad}}}', strict=True)


def test_sap_batch_body_is_reported(corpus: Generated) -> None:
    assert any("$batch" in r and "multipart" in r for r in corpus.results[SAP].repairs)


def test_xero_string_booleans_are_repaired_and_reported(corpus: Generated) -> None:
    repairs = corpus.results[XERO].repairs
    assert any("Account/properties/HasAttachments/default" in r for r in repairs)
    model = corpus.models(XERO).Account
    with pytest.raises(ValidationError):
        model.model_validate_json('{"HasAttachments": "false"}', strict=True)


def test_xero_read_only_fields_are_not_inputs(corpus: Generated) -> None:
    models = corpus.models(XERO)
    assert "amount_due" in models.Invoice.model_fields
    assert "amount_due" not in models.InvoiceInput.model_fields
    with pytest.raises(ValidationError):
        models.InvoiceInput.model_validate_json('{"AmountDue": 10}', strict=True)


def test_xero_idempotency_key_header_is_the_backend_key(corpus: Generated) -> None:
    adapter = corpus.adapter(XERO)
    ops = {d.operation.name: d.operation for d in adapter.operations}
    create = ops[f"{XERO}.accounting.create_invoices"]
    assert create.external_reference
    assert "idempotency_key" not in create.input_model.model_fields
    assert adapter.ACCOUNTING_CREATE_INVOICES.backend_key == ("header", "Idempotency-Key")


def test_square_duplicated_operation_ids_are_repaired_and_reported(corpus: Generated) -> None:
    repairs = corpus.results[SQUARE].repairs
    assert any("'ListEmployees' is used by" in r for r in repairs)
    names = [d.operation.name for d in corpus.adapter(SQUARE).operations]
    assert len(names) == len(set(names))


def test_square_idempotency_field_is_filled_by_the_gateway(corpus: Generated) -> None:
    models = corpus.models(SQUARE)
    request = models.CreatePaymentRequest
    base = {"source_id": "cnon:card", "amount_money": {"amount": 100, "currency": "USD"}}
    request.model_validate(base)  # idempotency_key: no longer required, the runtime sets it
    for broken in ({**base, "idempotency_key": "k" * 46}, {**base, "source_id": ""}):
        with pytest.raises(ValidationError):
            request.model_validate(broken)
    adapter = corpus.adapter(SQUARE)
    assert adapter.PAYMENTS_CREATE_PAYMENT.backend_key == ("body", "idempotency_key")


def test_square_list_answers_follow_their_cursor(corpus: Generated) -> None:
    pages = corpus.adapter(SQUARE).PAYMENTS_LIST_PAYMENTS.pages
    assert (pages.style, pages.param, pages.next_field, pages.items) == (
        "cursor", "cursor", "cursor", "payments"
    )  # fmt: skip


def test_business_central_decimals_uuids_and_lengths(corpus: Generated) -> None:
    item = corpus.models(BC).Item
    parsed = item.model_validate_json('{"unitPrice": 12.5, "number": "1000"}', strict=True)
    assert parsed.unit_price == Decimal("12.5")
    assert parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)["unitPrice"] == 12.5
    assert json_number(Decimal("3")) == 3
    for bad in ('{"id": "not-a-uuid"}', '{"number": "' + "9" * 21 + '"}'):
        with pytest.raises(ValidationError):
            item.model_validate_json(bad, strict=True)


def test_shipwire_javascript_pattern_literal_is_repaired_and_enforced(corpus: Generated) -> None:
    repairs = corpus.results[SHIPWIRE].repairs
    assert any("read as '^[0-9]{5}(?:-[0-9]{4})?$'" in r for r in repairs)
    models = corpus.models(SHIPWIRE)
    address = next(
        getattr(models, n) for n in dir(models) if "postal_code" in getattr(
            getattr(models, n), "model_fields", {}
        )
    )  # fmt: skip
    field = address.model_fields["postal_code"]
    assert any(getattr(m, "pattern", None) == "^[0-9]{5}(?:-[0-9]{4})?$" for m in field.metadata)
    assert any(getattr(m, "max_length", None) == 10 for m in field.metadata)


@pytest.mark.parametrize("package", sorted(corpus_specs()) or ["(corpus missing)"])
async def test_every_sampled_input_becomes_a_well_formed_request(
    corpus: Generated, package: str
) -> None:
    """Each operation's valid input sample, through the generated handler and the REST
    client as a dry run captures it: the method and a path with every parameter filled."""
    cases = json.loads((corpus.root / package / "contract_samples.json").read_text())
    inputs = {c["model"]: c["valid"] for c in cases if c["role"] == "input"}
    adapter = RestAdapter(
        package,
        RestSettings(base_url="http://127.0.0.1:9/base", total_timeout_s=5),
        corpus.adapter(package).operations,
    )
    await adapter.start()
    checked = 0
    try:
        for op in adapter.operations:
            sample = inputs.get(op.input_model.__name__)
            if sample is None:
                continue
            payload = op.input_model.model_validate_json(json.dumps(sample), strict=True)
            request = (await adapter.preview(op, payload)).request
            assert request is not None, op.name
            assert request["method"] in ("GET", "PUT", "POST", "PATCH", "DELETE")
            assert "{" not in request["path"], (op.name, request["path"])
            checked += 1
    finally:
        await adapter.close()
    assert checked >= EXPECTED_OPERATIONS[package] * 0.9
