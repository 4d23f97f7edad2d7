"""What the generator makes of each JSON Schema and OpenAPI feature, on the pet-shop fixture
(OpenAPI 3.1): discriminated unions, ``allOf`` inheritance, ``readOnly``, 3.1 null types,
exclusive bounds, tolerant references, names, and the command line's filters."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import yaml
from pydantic import BaseModel, ValidationError

from adapters.codegen.openapi.plan import MAX_NAME
from schemas.common import Effect, Risk
from tests.adapters.codegen.openapi.conftest import FIXTURES, REPO, Generated

PETS = "oa_fixture_pets"


@pytest.fixture
def models(generated_openapi: Generated) -> ModuleType:
    return generated_openapi.models(PETS)


def _valid(model: type[BaseModel], data: object) -> BaseModel:
    return model.model_validate_json(json.dumps(data), strict=True)


def test_a_discriminated_one_of_picks_the_variant_by_its_tag(models: ModuleType) -> None:
    order = {"pet": {"petType": "dog", "name": "Rex", "weight": 12.5}, "quantity": 1}
    parsed = _valid(models.Order, order)
    assert type(parsed.pet).__name__ == "Dog"  # type: ignore[attr-defined]
    for pet in ({"petType": "cow", "name": "Bess"}, {"petType": "cat", "name": "Tom", "weight": 3}):
        with pytest.raises(ValidationError):
            _valid(models.Order, {**order, "pet": pet})


def test_all_of_merges_the_base_and_keeps_every_constraint(models: ModuleType) -> None:
    cat = {"petType": "cat", "name": "Tom", "lives": 9, "born": "2020-02-29"}
    assert _valid(models.Cat, cat).lives == 9  # type: ignore[attr-defined]
    for broken in ({**cat, "lives": 10}, {**cat, "name": "T0m"}, {**cat, "name": ""},
                   {**cat, "born": "2021-02-29"}, {**cat, "name": "x" * 21}):  # fmt: skip
        with pytest.raises(ValidationError):
            _valid(models.Cat, broken)


def test_read_only_fields_are_answers_not_inputs(models: ModuleType) -> None:
    assert {"id_"} <= set(models.Cat.model_fields)
    assert "id_" not in models.CatInput.model_fields
    assert "placed" in models.Order.model_fields
    assert "placed" not in models.OrderInput.model_fields


def test_null_types_exclusive_bounds_and_steps(models: ModuleType) -> None:
    dog = {"petType": "dog", "name": "Rex", "nickname": None}
    _valid(models.Dog, dog)
    for weight, ok in ((0, False), (0.5, True), (0.7, False)):
        if ok:
            _valid(models.Dog, {**dog, "weight": weight})
        else:
            with pytest.raises(ValidationError):
                _valid(models.Dog, {**dog, "weight": weight})
    with pytest.raises(ValidationError):
        _valid(models.Dog, {**dog, "nickname": "x" * 11})
    _valid(models.OrderInput, {"pet": {**dog}, "quantity": 5, "price": "9.99", "note": 3})
    with pytest.raises(ValidationError):
        _valid(models.OrderInput, {"pet": {**dog}, "quantity": 5, "price": "9.999"})


def test_remote_and_dangling_refs_are_reported_not_fetched(generated_openapi: Generated) -> None:
    repairs = generated_openapi.results[PETS].repairs
    assert any("collar.json#/Collar points outside the document: not fetched" in r for r in repairs)
    assert any("dangling $ref #/components/schemas/Missing" in r for r in repairs)
    assert any("vaccinated/nullable: the string 'true' read as a boolean" in r for r in repairs)
    assert len(repairs) == len(set(repairs))


def test_names_effects_and_documented_errors(generated_openapi: Generated) -> None:
    ops = {d.operation.name: d.operation for d in generated_openapi.adapter(PETS).operations}
    add = ops[f"{PETS}.pets.add_pet"]
    assert (add.effect, add.risk, add.idempotent) == (Effect.WRITE, Risk.MEDIUM, False)
    assert add.external_reference  # the Idempotency-Key header takes the backend key
    assert add.description.startswith("Add a pet. The shop assigns the id.")
    described = " ".join(add.description.split())  # the docstring is wrapped
    assert "HTTP 409 (backend_rejected) A pet of this name exists" in described
    one = ops[f"{PETS}.pets.get_pets_by_key"]  # no operationId: method and path
    assert one.effect is Effect.READ
    assert "HTTP 404 (backend_not_found)" in one.description
    assert all(len(name) <= MAX_NAME for name in ops)


def test_the_command_generates_only_the_chosen_tags_and_operations(tmp_path: Path) -> None:
    out = tmp_path / "shop"
    command = [sys.executable, "-m", "gateway", "adapter", "new",
               "--openapi", str(FIXTURES / "pets.yaml"), "--name", "shop", "--out", str(out),
               "--tags", "orders,Paging", "--operations", "placeOrder,listThings"]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode == 0, result.stderr
    assert "2 operation(s)" in result.stdout
    assert "kind: rest" in result.stdout
    adapter = (out / "adapter.py").read_text()
    assert '"shop.orders.place_order"' in adapter
    assert '"shop.paging.list_things"' in adapter
    assert "list_pets" not in adapter
    snippet = (out / "gateway.snippet.yaml").read_text()
    auth = yaml.safe_load(snippet)["backends"]["shop"]["auth"]  # the snippet is valid YAML
    assert auth == {"type": "api_key", "header": "X-Shop-Key", "key": "${SHOP_API_KEY}"}
    assert "base_url: ${SHOP_URL:-http://127.0.0.1:9/api}" in snippet


def test_the_command_refuses_what_it_cannot_read(tmp_path: Path) -> None:
    spec = tmp_path / "not.yaml"
    spec.write_text("swagger: '1.2'\npaths: {}\n")
    command = [sys.executable, "-m", "gateway", "adapter", "new", "--openapi", str(spec),
               "--name", "x", "--out", str(tmp_path / "x")]  # fmt: skip
    result = subprocess.run(command, cwd=REPO, capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode == 2
    assert "not an OpenAPI 3.0/3.1 or Swagger 2.0 description" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_swagger_2_description_gives_its_host_and_basic_auth_to_the_backend_entry(
    generated_openapi: Generated,
) -> None:
    snippet = yaml.safe_load(generated_openapi.results["oa_fixture_legacy_swagger"].backend_entry)
    backend = snippet["backends"]["oa_fixture_legacy_swagger"]
    assert backend["base_url"] == "${OA_FIXTURE_LEGACY_SWAGGER_URL:-http://127.0.0.1:9/api}"
    assert backend["auth"]["type"] == "basic"
    assert backend["auth"]["password"] == "${OA_FIXTURE_LEGACY_SWAGGER_PASSWORD}"
