"""The OpenAPI 3.1 document, and the running gateway fuzzed against it with schemathesis.

The fuzz run is bounded (a few derandomized examples per operation, no example
database), so it takes seconds and fails the same way every time. It reaches every
route in the document, the people's routes too, with a staff key that holds no role:
the fuzzer can knock on the approval and kill-switch doors but never open them.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
import yaml
from aiohttp.test_utils import TestClient, TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from gateway.api.operation_ids import operation_id
from gateway.app import build_app
from gateway.config import Config, default_config_text, load_config
from gateway.demo.session import DEMO_KEYS
from gateway.identity import hash_key
from gateway.registry import build_registry
from tests.conftest import TEST_CONFIG, Gateway, make_config
from tests.test_cli_processes import free_port, get, lastmile, wait_for_line

AGENT_KEY = DEMO_KEYS["replenishment-bot"]
NO_ROLE_KEY = "lm_test_norole_0c6f1d2b9a4e7f3c5d8a1b2e4f6a9c0d"
"""A person the gateway knows but who may do nothing: every staff route answers 403."""
REPO = Path(__file__).resolve().parents[2]
OPERATION_ID = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]{0,63}")
STAFF_PREFIXES = ("/v1/approvals", "/v1/admin/", "/v1/audit/")


def _fuzz_config(gateway_port: int) -> str:
    """The embedded config, plus a role-less person and the URL agents reach us at."""
    config = yaml.safe_load(default_config_text())
    config["server"]["public_url"] = f"http://127.0.0.1:{gateway_port}"
    config["staff"].append({"id": "fuzz.tester", "key_sha256": hash_key(NO_ROLE_KEY), "roles": []})
    return yaml.safe_dump(config, sort_keys=False)


@pytest.fixture(scope="module")
def running_gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The sandboxes and ``lastmile serve`` as real processes, as an operator would run them."""
    tmp: Path = tmp_path_factory.mktemp("fuzz")
    wms_port, erp_port, gateway_port = free_port(), free_port(), free_port()
    sales_port = free_port()
    (tmp / "gateway.yaml").write_text(_fuzz_config(gateway_port), "utf-8")
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
        sales = lastmile(
            "sandbox", "--system", "odata", "--port", str(sales_port),
            "--db", str(tmp / "sales.sqlite"),
        )  # fmt: skip
        processes.append(sales)
        wait_for_line(sales, "sandbox on")
        env = {
            "PATH": "/usr/bin:/bin",
            "LASTMILE_ACME_WMS_URL": f"http://127.0.0.1:{wms_port}",
            "LASTMILE_ACME_ERP_URL": f"http://127.0.0.1:{erp_port}",
            "LASTMILE_ACME_SALES_URL": f"http://127.0.0.1:{sales_port}",
            "LASTMILE_AUDIT_DB": str(tmp / "audit.sqlite"),
        }
        gateway = lastmile(
            "serve", "--config", "gateway.yaml", "--port", str(gateway_port), cwd=tmp, env=env
        )
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


def _document(url: str) -> Any:
    with urllib.request.urlopen(f"{url}/openapi.json", timeout=10) as response:  # noqa: S310
        return json.loads(response.read())


def _operations(document: Any) -> Iterator[tuple[str, str, Any]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield path, method, operation


async def _served_document(gateway: Gateway) -> Any:
    response = await gateway.client.get("/openapi.json")
    assert response.status == 200
    return await response.json()


async def _document_of(config: Config) -> Any:
    """``GET /openapi.json`` from a gateway started on ``config``."""
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(config), host="127.0.0.1"))
    await client.start_server()
    try:
        response = await client.get("/openapi.json")
        assert response.status == 200
        return await response.json()
    finally:
        await client.close()


def _with_backend(module: str) -> str:
    """TEST_CONFIG plus a backend served by one of the test adapter modules."""
    backend = f"  extra:\n    kind: rest\n    adapter: {module}\n    base_url: http://127.0.0.1:9\n"
    return TEST_CONFIG.replace("backends:\n", "backends:\n" + backend)


async def test_every_operation_id_is_a_function_name_that_maps_back(gateway: Gateway) -> None:
    document = await _served_document(gateway)
    ids = [op["operationId"] for _, _, op in _operations(document)]
    assert all(OPERATION_ID.fullmatch(i) for i in ids), ids
    assert len(ids) == len(set(ids))
    paths = document["paths"]
    stock = paths["/v1/operations/warehouse.stock.get"]["post"]
    assert stock["operationId"] == "warehouse_stock_get"
    create = paths["/v1/operations/warehouse.goods_movements.create"]["post"]
    assert create["operationId"] == "warehouse_goods_movements_create"
    for path, item in paths.items():
        if path.startswith("/v1/operations/") and "post" in item:
            assert item["post"]["x-lastmile-operation"] == path.removeprefix("/v1/operations/")


async def test_summaries_are_whole_first_sentences_and_descriptions_whole_docstrings(
    gateway: Gateway,
) -> None:
    operation = (await _served_document(gateway))["paths"]["/v1/operations/warehouse.stock.get"]
    post = operation["post"]
    assert post["summary"] == (
        "Read the unrestricted stock of one item in one plant, with its unit and the date of "
        "the last goods movement."
    )
    assert post["description"].startswith("Read the unrestricted stock of one item in one")
    create = (await _served_document(gateway))["paths"][
        "/v1/operations/warehouse.goods_movements.create"
    ]["post"]
    assert create["summary"] == (
        "Post a goods movement: a 'receipt' adds stock, an 'issue' or 'scrap' removes it."
    )
    assert create["description"].endswith("and the stock after the movement.")


async def test_every_answer_an_invocation_can_give_is_listed_with_its_headers(
    gateway: Gateway,
) -> None:
    paths = (await _served_document(gateway))["paths"]
    write = paths["/v1/operations/warehouse.goods_movements.create"]["post"]["responses"]
    read = paths["/v1/operations/warehouse.stock.get"]["post"]["responses"]
    errors = {"400", "401", "403", "404", "413", "415", "422", "429", "500", "502", "503", "504"}
    assert set(write) == {"200", "202", "409"} | errors
    assert set(read) == {"200", "202"} | errors  # reads skip idempotency: no 409, no replay
    for status in errors:
        assert write[status]["content"]["application/problem+json"]["schema"] == {
            "$ref": "#/components/schemas/Problem"
        }
        assert write[status]["headers"]["X-Request-Id"]["required"] is True
    assert {"Retry-After", "RateLimit", "RateLimit-Policy"} <= set(write["429"]["headers"])
    assert "Retry-After" in write["503"]["headers"]
    assert "Retry-After" in write["409"]["headers"]
    assert "WWW-Authenticate" in write["401"]["headers"]
    assert "Location" in write["202"]["headers"]
    assert "Idempotent-Replayed" in write["200"]["headers"]
    assert "Idempotent-Replayed" not in read["200"]["headers"]


async def test_the_people_routes_have_their_own_tags_and_staff_scheme(gateway: Gateway) -> None:
    document = await _served_document(gateway)
    assert document["components"]["securitySchemes"]["staffKey"]["scheme"] == "bearer"
    staff = {
        (method.upper(), path): op
        for path, method, op in _operations(document)
        if path.startswith(STAFF_PREFIXES)
    }
    assert set(staff) == {
        ("GET", "/v1/approvals"),
        ("GET", "/v1/approvals/{id}"),
        ("POST", "/v1/approvals/{id}/approve"),
        ("POST", "/v1/approvals/{id}/reject"),
        ("POST", "/v1/admin/halts"),
        ("GET", "/v1/admin/halts"),
        ("DELETE", "/v1/admin/halts/{id}"),
        ("POST", "/v1/admin/policies/reload"),
        ("POST", "/v1/admin/config"),
        ("GET", "/v1/admin/config"),
        ("GET", "/v1/audit/events"),
        ("GET", "/v1/audit/requests/{request_id}/proof"),
        ("GET", "/v1/audit/checkpoint"),
        ("GET", "/v1/audit/consistency"),
    }
    for (_, path), op in staff.items():
        assert op["tags"] == [path.split("/")[2]]
        assert {"staffKey": []} in op["security"]
    # an agent polls its own held call with its own key; nothing else of the people's
    assert [op for op in staff.values() if {"agentKey": []} in op["security"]] == [
        staff[("GET", "/v1/approvals/{id}")]
    ]
    assert "409" in staff[("POST", "/v1/approvals/{id}/approve")]["responses"]


async def test_the_servers_are_relative_unless_a_public_url_is_configured(
    gateway: Gateway, tmp_path: Path
) -> None:
    assert (await _served_document(gateway))["servers"] == [{"url": "/"}]
    public = TEST_CONFIG.replace(
        "server:\n", "server:\n  public_url: https://gateway.acme.example/lastmile/\n"
    )
    document = await _document_of(make_config("http://127.0.0.1:9", tmp_path / "a.db", public))
    assert document["servers"] == [{"url": "https://gateway.acme.example/lastmile"}]


async def test_a_required_aliased_input_field_gets_an_example_under_its_alias(
    tmp_path: Path,
) -> None:
    text = _with_backend("tests.gateway.aliased_ops")
    document = await _document_of(make_config("http://127.0.0.1:9", tmp_path / "a.db", text))
    body = document["paths"]["/v1/operations/legacy.stock.get"]["post"]["requestBody"]
    assert body["content"]["application/json"]["example"] == {"MATNR": "100234", "WERKS": "1000"}


def test_an_operation_name_too_long_for_a_function_name_is_shortened_distinctly() -> None:
    stem = "netsuite." + "customer_" * 8
    first, second = operation_id(stem + "records.get"), operation_id(stem + "records.list")
    assert OPERATION_ID.fullmatch(first)
    assert OPERATION_ID.fullmatch(second)
    assert len(first) == len(second) == 64
    assert first != second


def test_operations_that_would_share_an_operation_id_stop_the_start_up(tmp_path: Path) -> None:
    config = tmp_path / "gateway.yaml"
    text = _with_backend("tests.gateway.colliding_ops").replace("${WMS_URL}", "http://127.0.0.1:9")
    config.write_text(text.replace("${AUDIT_DB}", str(tmp_path / "audit.sqlite")), "utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for command in (["check-config", str(config)], ["serve", "--config", str(config)]):
        done = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "gateway", *command],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert done.returncode == 2, done.stdout + done.stderr
        assert (  # operationIds are the tool names: the registry refuses the clash first
            "operations 'stock.level_get.one' and 'stock_level.get.one' would share the tool "
            "name 'stock_level_get_one'"
        ) in done.stderr
        assert "Traceback" not in done.stderr


def test_the_document_describes_every_operation(running_gateway: str) -> None:
    document = _document(running_gateway)
    assert document["openapi"] == "3.1.0"
    assert document["servers"] == [{"url": running_gateway}]
    posts = {p for p, item in document["paths"].items() if p.startswith("/v1/operations/")}
    posts.discard("/v1/operations/{name}")
    registry = build_registry(load_config())  # the fuzzed gateway serves the embedded registry
    assert posts == {f"/v1/operations/{name}" for name in registry.operations}
    create = document["paths"]["/v1/operations/warehouse.goods_movements.create"]["post"]
    body = create["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/GoodsMovementRequest"}
    assert body["example"]["kind"] == "receipt"
    assert document["paths"]["/healthz"]["get"]["security"] == []


FUZZ = settings(
    max_examples=6,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def _key_for(operation: Any) -> dict[str, str]:
    """The agent key where the route takes one, else the role-less staff key."""
    security = operation.get("security")
    if security == []:
        return {}
    if security is not None and {"agentKey": []} not in security:
        return {"Authorization": f"Bearer {NO_ROLE_KEY}"}
    return {"Authorization": f"Bearer {AGENT_KEY}"}


def test_the_gateway_answers_as_its_document_says(running_gateway: str) -> None:
    """Every route of the document, fuzzed: no 5xx, and every answer (status, headers,
    content type, body) is one the document declares. (A loop rather than
    ``schemathesis.pytest.from_fixture``, which does not work with pytest 9.)"""
    document = _document(running_gateway)
    api_schema = schemathesis.openapi.from_url(f"{running_gateway}/openapi.json")
    checked = []
    for result in api_schema.get_all_operations():
        operation = result.ok()
        auth = _key_for(document["paths"][operation.path][operation.method.lower()])
        for mode in GenerationMode:  # schema-valid input, and input the schema rejects
            try:
                _fuzz(operation.as_strategy(mode), auth)
            except Unsatisfiable:
                assert mode is GenerationMode.NEGATIVE  # nothing to negate on /healthz
        checked.append(f"{operation.method.upper()} {operation.path}")
    assert sorted(checked) == sorted(
        f"{method.upper()} {path}" for path, method, _ in _operations(document)
    )
    assert any(label.startswith("POST /v1/admin/") for label in checked)
    # the fuzzer's person holds no role: nothing was halted, nothing decided
    assert get(f"{running_gateway}/v1/admin/halts", DEMO_KEYS["ops-oncall"]) == (200, {"halts": []})
    for status in ("executed", "rejected", "failed"):
        url = f"{running_gateway}/v1/approvals?status={status}"
        assert get(url, DEMO_KEYS["maria.schmidt"]) == (200, {"approvals": []})


def _fuzz(strategy: Any, auth: dict[str, str]) -> None:
    @given(case=strategy)
    @FUZZ
    def fuzz(case: Any) -> None:
        _call_and_validate(case, auth)

    fuzz()


def _call_and_validate(case: Any, auth: dict[str, str]) -> None:
    case.call_and_validate(
        headers=auth,
        checks=[
            not_a_server_error,
            status_code_conformance,
            content_type_conformance,
            response_headers_conformance,
            response_schema_conformance,
        ],
    )


def test_an_operation_without_a_json_schema_stops_the_start_up_naming_it(tmp_path: Path) -> None:
    """What would crash start-up is a config error naming the operation, in check-config
    and in serve alike, never a traceback."""
    config = tmp_path / "gateway.yaml"
    text = _with_backend("tests.gateway.undescribable_ops").replace(
        "${WMS_URL}", "http://127.0.0.1:9"
    )
    config.write_text(text.replace("${AUDIT_DB}", str(tmp_path / "audit.sqlite")), "utf-8")
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for command in (["check-config", str(config)], ["serve", "--config", str(config)]):
        done = subprocess.run(  # noqa: S603 - our own CLI
            [sys.executable, "-m", "gateway", *command],
            capture_output=True,
            text=True,
            timeout=60,
            env=env,
            check=False,
        )
        assert done.returncode == 2, done.stdout + done.stderr
        assert "operation 'opaque.stock.get' (backend 'extra')" in done.stderr
        assert "Traceback" not in done.stderr
