"""The OpenAPI 3.1 document, and the running gateway fuzzed against it with schemathesis.

The fuzz run is bounded (a few derandomized examples per operation, no example
database), so it takes seconds and fails the same way every time.
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.config import load_config
from gateway.demo.session import DEMO_KEYS
from gateway.registry import build_registry
from tests.test_cli_processes import free_port, lastmile, wait_for_line

AUTH = {"Authorization": f"Bearer {DEMO_KEYS['replenishment-bot']}"}


@pytest.fixture(scope="module")
def running_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sandbox and ``lastmile serve`` as real processes, as an operator would run them."""
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    wms_port, erp_port, gateway_port = free_port(), free_port(), free_port()
    processes: list[subprocess.Popen[str]] = []
    try:
        sandbox = lastmile("sandbox", "--port", str(wms_port), "--db", str(tmp / "wms.sqlite"))
        processes.append(sandbox)
        wait_for_line(sandbox, "ACME WMS sandbox on")
        erp = lastmile(
            "sandbox", "--system", "erp", "--port", str(erp_port), "--db", str(tmp / "erp.sqlite")
        )
        processes.append(erp)
        wait_for_line(erp, "sandbox on")
        env = {
            "PATH": "/usr/bin:/bin",
            "LASTMILE_ACME_WMS_URL": f"http://127.0.0.1:{wms_port}",
            "LASTMILE_ACME_ERP_URL": f"http://127.0.0.1:{erp_port}",
            "LASTMILE_AUDIT_DB": str(tmp / "audit.sqlite"),
        }
        gateway = lastmile("serve", "--port", str(gateway_port), cwd=tmp, env=env)
        processes.append(gateway)
        wait_for_line(gateway, '"event": "listening"')
        yield f"http://127.0.0.1:{gateway_port}"
    finally:
        for process in processes:
            process.terminate()
            process.wait(timeout=10)
        for process in processes:
            if process.stdout:
                process.stdout.close()


@pytest.fixture(scope="module")
def api_schema(running_gateway: str) -> Any:
    return schemathesis.openapi.from_url(f"{running_gateway}/openapi.json")


def test_the_document_describes_every_operation_and_the_errors(running_gateway: str) -> None:
    with urllib.request.urlopen(f"{running_gateway}/openapi.json", timeout=10) as response:  # noqa: S310
        document = json.loads(response.read())
    assert document["openapi"] == "3.1.0"
    posts = {p for p, item in document["paths"].items() if "post" in item}
    registry = build_registry(load_config())  # the gateway serves the embedded default
    assert posts == {f"/v1/operations/{name}" for name in registry.operations}
    assert "/v1/operations/finance.credit_notes.create" in posts
    assert {"/healthz", "/readyz", "/v1/operations"} <= set(document["paths"])
    create = document["paths"]["/v1/operations/warehouse.goods_movements.create"]["post"]
    body = create["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/GoodsMovementRequest"}
    assert body["example"]["kind"] == "receipt"
    assert create["responses"]["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert document["paths"]["/healthz"]["get"]["security"] == []


FUZZ = settings(
    max_examples=6,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def test_the_gateway_answers_as_its_document_says(api_schema: Any) -> None:
    """Every operation of the document, fuzzed: no 5xx, and every answer (status, content
    type, body) is one the document declares. (A loop rather than
    ``schemathesis.pytest.from_fixture``, which does not work with pytest 9.)"""
    checked = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        for mode in GenerationMode:  # schema-valid input, and input the schema rejects

            @given(case=operation.as_strategy(mode))
            @FUZZ
            def fuzz(case: Any) -> None:
                _call_and_validate(case)

            try:
                fuzz()
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to negate on /healthz
        checked.append(operation.label)
    operations = build_registry(load_config()).operations
    # every operation, plus /healthz, /readyz, GET /v1/operations and GET /v1/operations/{name}
    assert len(checked) == len(operations) + 4


def _call_and_validate(case: Any) -> None:
    case.call_and_validate(
        headers=AUTH,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_schema_conformance,
        ],
    )
