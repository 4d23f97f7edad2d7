"""The generator over every ``$metadata`` of the real-world corpus: SAP S/4HANA (V2),
SAP Gateway (V2), SAP RAP (V4), Business Central (V4) and TripPin (V4).

Each output passes ``ruff check`` with the project's config, imports on the OData
runtime, declares valid operation names, and passes its own contract test; for named
properties of each document we check that MaxLength, Precision/Scale (including
``Scale="variable"``), Nullable, enum members and keys survived into the models, and
that the entity sets' sap:/Capabilities flags decided which writes exist.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from adapters.base import _OPERATION_NAME, OperationSet
from adapters.odata import ODataOperation
from schemas.common import Effect, Risk
from tests.adapters.codegen.odata.conftest import PACKAGES, REPO, Generated

EXPECTED_OPERATIONS = {
    "od_bp": 163, "od_so": 47, "od_gw": 67, "od_rap": 57, "od_bc": 357, "od_trip": 23,
}  # fmt: skip


def field_type(model: type[BaseModel], alias: str) -> TypeAdapter[Any]:
    """The validator of one field (its type with its constraints), by $metadata name."""
    model.model_rebuild(force=True)
    for name, info in model.model_fields.items():
        if (info.alias or name) == alias:
            annotation: Any = info.annotation
            if info.metadata:
                annotation = Annotated[(annotation, *info.metadata)]
            return TypeAdapter(annotation)
    raise AssertionError(f"{model.__name__} has no field {alias}")


def accepts(model: type[BaseModel], alias: str, value: Any) -> bool:
    try:
        field_type(model, alias).validate_python(value)
    except ValidationError:
        return False
    return True


def required(model: type[BaseModel], alias: str) -> bool:
    model.model_rebuild(force=True)
    return any((i.alias or n) == alias and i.is_required() for n, i in model.model_fields.items())


def operation(corpus: Generated, package: str, name: str) -> Any:
    declared = {d.operation.name: d.operation for d in corpus.adapter(package).operations}
    return declared[f"{package}.{name}"]


def spec(corpus: Generated, package: str, function: str) -> ODataOperation:
    found = getattr(corpus.adapter(package), function.upper())
    assert isinstance(found, ODataOperation)
    return found


@pytest.mark.parametrize("package", sorted(PACKAGES))
def test_every_corpus_document_generates_an_importable_adapter(
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
        op.input_model.model_json_schema()  # what the catalog, OpenAPI and MCP show
        op.output_model.model_json_schema()


def test_generated_code_passes_ruff_with_the_project_config(corpus: Generated) -> None:
    ruff = str(Path(sys.executable).with_name("ruff"))
    result = subprocess.run(  # noqa: S603 - our own ruff on our own output
        [ruff, "check", "--config", str(REPO / "pyproject.toml"), str(corpus.root)],
        cwd=REPO, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]


def test_generated_contract_tests_pass(corpus: Generated) -> None:
    root = corpus.root
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(root)])}
    result = subprocess.run(  # noqa: S603 - pytest on the generated packages
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:asyncio",
         "-W", "error", "--rootdir", str(root), str(root)],
        cwd=root, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-4000:]
    assert sum(r.contract_cases for r in corpus.results.values()) >= 800
    assert " passed" in result.stdout


def test_s4_business_partner_keeps_keys_lengths_labels_and_its_sap_flags(
    corpus: Generated,
) -> None:
    models = corpus.models("od_bp")
    partner = models.ABusinessPartnerType
    assert required(partner, "BusinessPartner")  # the key
    assert accepts(partner, "BusinessPartner", "1" * 10)
    assert not accepts(partner, "BusinessPartner", "1" * 11)  # MaxLength="10"
    assert not accepts(partner, "BusinessPartnerCategory", "12")  # MaxLength="1"
    assert accepts(partner, "BusinessPartnerCategory", None)  # Nullable by default
    category = partner.model_fields["business_partner_category"]
    assert category.description is not None
    assert category.description.startswith("BP Category")  # sap:label, then sap:quickinfo
    # sap:deletable="false" on the set: no delete; creatable and updatable by default
    names = {d.operation.name for d in corpus.adapter("od_bp").operations}
    assert "od_bp.a_business_partner.create" in names
    assert "od_bp.a_business_partner.delete" not in names
    key = spec(corpus, "od_bp", "a_business_partner_get")
    assert key.keys == {"BusinessPartner": "Edm.String"}


def test_s4_sales_order_keeps_precision_and_scale_and_leaves_out_what_is_not_creatable(
    corpus: Generated,
) -> None:
    item = corpus.models("od_so").ASalesOrderItemType
    assert accepts(item, "RequestedQuantity", Decimal("123456789012.345"))  # 15 digits, 3 places
    assert not accepts(item, "RequestedQuantity", Decimal("1.2345"))  # Scale="3"
    assert not accepts(item, "RequestedQuantity", Decimal("1234567890123.45"))  # Precision="15"
    create = operation(corpus, "od_so", "a_sales_order.create").input_model
    create.model_rebuild(force=True)
    aliases = {i.alias for i in create.model_fields.values()}
    assert "SalesOrderType" in aliases
    assert "TotalNetAmount" not in aliases  # sap:creatable="false"
    assert not required(create, "SalesOrder")  # a key the server may number: optional here
    assert not accepts(create, "SalesOrder", None)  # ...but never null (Nullable="false")
    order = operation(corpus, "od_so", "a_sales_order.create")
    assert order.effect is Effect.WRITE
    assert not order.idempotent


def test_a_sales_order_is_created_with_its_items_in_one_deep_insert(corpus: Generated) -> None:
    create = operation(corpus, "od_so", "a_sales_order.create").input_model
    order = {"SalesOrderType": "OR", "SoldToParty": "17100001",
             "to_Item": [{"Material": "TG11", "RequestedQuantity": "2"}]}  # fmt: skip
    parsed = create.model_validate_json(json.dumps(order), strict=True)
    sent = parsed.model_dump(mode="json", by_alias=True, exclude_unset=True)
    assert sent["to_Item"] == [{"Material": "TG11", "RequestedQuantity": "2"}]
    too_long = {**order, "to_Item": [{"Material": "M" * 41}]}  # Material MaxLength="40"
    with pytest.raises(ValidationError):
        create.model_validate_json(json.dumps(too_long), strict=True)
    # the partners' own set is sap:creatable="false", yet they go in with the order
    aliases = {i.alias for i in create.model_fields.values()}
    assert "to_Partner" in aliases


def test_creates_with_an_external_reference_property_are_looked_up_before_a_resend(
    corpus: Generated,
) -> None:
    for package, entity_set, prop in (
        ("od_so", "a_sales_order", "PurchaseOrderByCustomer"),
        ("od_bc", "sales_orders", "externalDocumentNumber"),
    ):
        name = f"{package}.{entity_set}.create"
        assert spec(corpus, package, f"{entity_set}_create").reference_property == prop
        assert operation(corpus, package, f"{entity_set}.create").external_reference
        assert corpus.adapter(package).operations.finder(name) is not None
    assert spec(corpus, "od_trip", "people_create").reference_property is None


def test_gateway_read_only_sets_get_no_writes_and_post_imports_are_writes(
    corpus: Generated,
) -> None:
    names = {d.operation.name: d.operation for d in corpus.adapter("od_gw").operations}
    assert {n for n in names if n.startswith("od_gw.i_currency.")} == {
        "od_gw.i_currency.get", "od_gw.i_currency.query",
    }  # fmt: skip
    currency = corpus.models("od_gw").ICurrencyType
    assert not accepts(currency, "Currency", "EURXXX")  # MaxLength="5"
    activation = names["od_gw.sepmra_c_pd_product.sepmra_c_pd_product_activation"]
    assert activation.effect is Effect.WRITE  # m:HttpMethod="POST"
    assert activation.risk is Risk.MEDIUM
    sent = spec(corpus, "od_gw", "sepmra_c_pd_product_sepmra_c_pd_product_activation")
    assert sent.kind == "action"
    assert sent.method == "POST"
    assert not sent.bound


def test_rap_keeps_variable_scale_nullability_and_bound_actions(corpus: Generated) -> None:
    travel = corpus.models("od_rap").TravelType
    assert accepts(travel, "TotalPrice", Decimal("12345.123456789"))  # Scale="variable"
    assert not accepts(travel, "TotalPrice", Decimal("12345678901234567"))  # Precision="16"
    assert not accepts(travel, "TotalPrice", None)  # Nullable="false"
    assert required(travel, "TravelUUID")
    assert required(travel, "IsActiveEntity")
    discount = spec(corpus, "od_rap", "travel_deduct_discount")
    assert discount.kind == "action"
    assert discount.bound
    assert discount.namespace == "com.sap.gateway.srvd.dmo.sd_travel_mduu.v0001"
    assert set(discount.keys) == {"TravelUUID", "IsActiveEntity"}
    deduct = operation(corpus, "od_rap", "travel.deduct_discount")
    assert required(deduct.input_model, "TravelUUID")
    assert deduct.effect is Effect.WRITE


def test_business_central_keeps_enums_and_capabilities(corpus: Generated) -> None:
    item = corpus.models("od_bc").Item
    assert accepts(item, "type", "Non_x002D_Inventory")
    assert not accepts(item, "type", "Gadget")  # EnumType itemType
    assert accepts(item, "unitPrice", Decimal("1.123456789"))  # Scale="Variable", no Precision
    assert not accepts(item, "displayName", "x" * 101)  # MaxLength="100"
    names = {d.operation.name for d in corpus.adapter("od_bc").operations}
    # Capabilities.InsertRestrictions/UpdateRestrictions/DeleteRestrictions false on companies
    assert {n for n in names if n.startswith("od_bc.companies.")} == {
        "od_bc.companies.get", "od_bc.companies.query",
    }  # fmt: skip
    assert "od_bc.items.delete" in names


def test_trippin_keeps_enums_keys_functions_and_inheritance(corpus: Generated) -> None:
    models = corpus.models("od_trip")
    assert required(models.Person, "UserName")
    assert accepts(models.Person, "Gender", "Female")
    assert not accepts(models.Person, "Gender", "Robot")  # EnumType PersonGender
    assert issubclass(models.AirportLocation, models.Location)  # BaseType
    nearest = spec(corpus, "od_trip", "airports_get_nearest_airport")
    assert nearest.kind == "function"
    assert nearest.method == "GET"
    assert not nearest.bound
    assert nearest.types == {"lat": "Edm.Double", "lon": "Edm.Double"}
    friends_trips = operation(corpus, "od_trip", "people.get_friends_trips")
    assert friends_trips.effect is Effect.READ
    assert friends_trips.idempotent
    query = spec(corpus, "od_trip", "people_query")
    assert query.filters["Gender"] == "Microsoft.OData.SampleService.Models.TripPin.PersonGender"
