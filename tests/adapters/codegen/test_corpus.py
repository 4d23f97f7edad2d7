"""The generator over every WSDL of the real-world corpus: SAP, Dynamics NAV, NetSuite.

Each output must pass ``ruff check`` with the project's config, import cleanly, declare
one operation per WSDL operation, and pass its own generated contract test; and for a
few named fields we check that the XSD restriction survived into the model. (The ruff
and contract checks also cover the fixture WSDL, so they run even without the corpus.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.base import _OPERATION_NAME, OperationSet
from schemas.common import Effect
from tests.adapters.codegen.conftest import REPO, Generated, corpus_wsdls

SAP = "gen_sap_ecc_bapi_salesorder_create"
NAV_CUSTOMER = "gen_dynamics_nav_page_customer"
NETSUITE = "gen_netsuite_suitetalk_2023_2"
EXPECTED_OPERATIONS = {
    SAP: 1,  # one portType operation, published through a SOAP 1.1 and a 1.2 binding
    NAV_CUSTOMER: 10,
    "gen_dynamics_nav_page_vendor": 10,
    "gen_dynamics_nav_page_journal": 10,
    NETSUITE: 42,
}


def _tool(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


@pytest.mark.parametrize("package", sorted(corpus_wsdls()) or ["(corpus missing)"])
def test_every_corpus_wsdl_generates_an_importable_adapter(
    generated: Generated, corpus: dict[str, Path], package: str
) -> None:
    adapter = generated.adapter(package)
    operations = adapter.operations
    assert isinstance(operations, OperationSet)
    declared = [d.operation for d in operations]
    assert len(declared) == generated.results[package].operations
    if package in EXPECTED_OPERATIONS:
        assert len(declared) == EXPECTED_OPERATIONS[package]
    for op in declared:
        assert _OPERATION_NAME.match(op.name), op.name
        assert op.name.startswith(f"{package}.")
        assert op.description


def test_generated_code_passes_ruff_with_the_project_config(generated: Generated) -> None:
    result = subprocess.run(  # noqa: S603 - our own ruff on our own output
        [_tool("ruff"), "check", "--config", str(REPO / "pyproject.toml"), str(generated.root)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_generated_contract_tests_pass(generated: Generated) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(generated.root)])}
    result = subprocess.run(  # noqa: S603 - pytest on the generated packages
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio",
         "-W", "error", "--rootdir", str(generated.root), str(generated.root)],
        cwd=generated.root,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    assert " passed" in result.stdout
    if NETSUITE in generated.results:
        assert generated.results[NETSUITE].contract_cases >= 60  # 84 operation models


def test_read_write_guesses_for_nav_page_operations(
    generated: Generated, corpus: dict[str, Path]
) -> None:
    effects = {
        d.operation.name.rsplit(".", 1)[1]: d.operation.effect
        for d in _ops(generated, NAV_CUSTOMER)
    }
    reads = {name for name, effect in effects.items() if effect is Effect.READ}
    assert reads == {"read", "read_by_rec_id", "read_multiple", "is_updated", "get_rec_id_from_key"}
    assert {"create", "update", "delete", "create_multiple"} <= set(effects) - reads


def _ops(generated: Generated, package: str) -> list[Any]:
    return list(generated.adapter(package).operations)


def test_sap_char4_plant_rejects_five_characters(
    generated: Generated, corpus: dict[str, Path]
) -> None:
    models = generated.models(SAP)
    item = {
        "MATERIAL_NO": "100200", "MATERIAL": "M-01", "UNIT": "PC", "QTY": "2.5",
        "CUST_MATERIAL": "X", "PLANT": "1000", "SHIPPING_POINT": "1000",
        "DELIVERY_DATE": "2024-05-31",
    }  # fmt: skip
    assert models.ZaiagentsBapisoitemS.model_validate_json(json.dumps(item)).plant == "1000"
    with pytest.raises(ValidationError, match="at most 4 characters"):
        models.ZaiagentsBapisoitemS.model_validate_json(json.dumps({**item, "PLANT": "10000"}))
    with pytest.raises(ValidationError, match="should match pattern"):
        models.ZaiagentsBapisoitemS.model_validate_json(
            json.dumps({**item, "DELIVERY_DATE": "31.05.2024"})
        )
    with pytest.raises(ValidationError, match="3 decimal places"):  # quantum15.3
        models.ZaiagentsBapisoitemS.model_validate_json(json.dumps({**item, "QTY": "1.2345"}))


def test_sap_curr11_2_amount_rejects_three_decimals(
    generated: Generated, corpus: dict[str, Path]
) -> None:
    models = generated.models(SAP)
    info = {
        "PR_NUMBER": "1", "PR_ITEM": "10", "VENDOR": "V1", "PUR_ORG": "1000", "PLANT": "1000",
        "PRICE": "1234.50", "PRICE_UNIT": "1", "CURRENCY": "EUR",
    }  # fmt: skip
    parsed = models.ZaiagentsPrInfo.model_validate_json(json.dumps(info))
    assert parsed.price == Decimal("1234.50")
    with pytest.raises(ValidationError, match="2 decimal places"):
        models.ZaiagentsPrInfo.model_validate_json(json.dumps({**info, "PRICE": "12.345"}))
    with pytest.raises(ValidationError, match="11 digits"):
        models.ZaiagentsPrInfo.model_validate_json(json.dumps({**info, "PRICE": "1234567890.12"}))


def test_nav_enumeration_rejects_an_unknown_value(
    generated: Generated, corpus: dict[str, Path]
) -> None:
    customer = generated.models(NAV_CUSTOMER).Customer
    assert customer.model_validate_json('{"Blocked": "_blank_"}').blocked == "_blank_"
    assert customer.model_validate_json('{"Blocked": "Ship", "No": "10000"}').blocked == "Ship"
    with pytest.raises(ValidationError, match="'_blank_', 'Ship', 'Invoice' or 'All'"):
        customer.model_validate_json('{"Blocked": "Sometimes"}')


def test_nav_tax_and_contact_fields_are_marked_sensitive(
    generated: Generated, corpus: dict[str, Path]
) -> None:
    properties = generated.models(NAV_CUSTOMER).Customer.model_json_schema()["properties"]
    sensitive = {name: p["x-sensitive"] for name, p in properties.items() if "x-sensitive" in p}
    assert sensitive["VAT_Registration_No"] == "tax_id"
    assert sensitive["E_Mail"] == sensitive["Phone_No"] == "personal_contact"
    assert "Prices_Including_VAT" not in sensitive  # a flag, not a VAT number
    assert "VAT_Bus_Posting_Group" not in sensitive


def test_nav_filter_field_is_the_pages_field_enumeration(
    generated: Generated, corpus: dict[str, Path]
) -> None:
    read_multiple = generated.models(NAV_CUSTOMER).ReadMultiple
    query = '{"filter": [{"Field": "City", "Criteria": "Ber*"}], "setSize": 10}'
    assert read_multiple.model_validate_json(query).filter_[0].criteria == "Ber*"
    with pytest.raises(ValidationError, match=r"filter\.0\.Field"):
        read_multiple.model_validate_json(query.replace("City", "Password"))


def test_netsuite_enumeration_and_polymorphic_reference_survive(
    generated: Generated, corpus: dict[str, Path]
) -> None:
    models = generated.models(NETSUITE)
    ref = models.RecordRef.model_validate_json('{"internalId": "42", "type": "customer"}')
    assert ref.type_ == "customer"
    with pytest.raises(ValidationError, match="type"):
        models.RecordRef.model_validate_json('{"internalId": "42", "type": "martian"}')
    # GetRequest.baseRef is an abstract BaseRef: the model accepts its concrete subtypes.
    request = models.GetRequest.model_validate_json('{"baseRef": {"internalId": "7"}}')
    assert isinstance(request.base_ref, models.BaseRef)
    assert models.BaseRef.__subclasses__()


async def test_netsuite_handler_takes_the_body_out_of_zeeps_envelope(
    generated: Generated, corpus: dict[str, Path]
) -> None:
    """NetSuite replies bind a documentInfo header, so zeep returns header and body."""
    models, adapter = generated.models(NETSUITE), generated.adapter(NETSUITE)
    sent: list[tuple[str, dict[str, Any]]] = []
    read = {"status": {"isSuccess": True}, "record": None}

    class ZeepShapedClient:
        async def call(self, operation: str, /, **params: Any) -> Any:
            sent.append((operation, params))
            body = {"readResponse": read}  # the reply element's content
            return {"header": {"documentInfo": {"nsId": "x"}}, "body": body}

    op = next(d for d in adapter.operations if d.operation.name.endswith(".get"))
    payload = models.GetRequest.model_validate_json('{"baseRef": {"internalId": "7"}}')
    reply = await op.handler(ZeepShapedClient(), payload)
    assert sent == [("get", {"baseRef": {"internalId": "7"}})]
    output = op.operation.output_model.model_validate(reply, strict=False)
    assert output.read_response.status.is_success is True  # type: ignore[attr-defined]
