"""The engineer's path, end to end: generate from the ERP sandbox's own WSDL, paste what
`lastmile adapter new` wrote (backend entry, agent stanza, permit file), check the config
and serve the package unedited; an agent then reads a customer over REST and MCP.

Also the ways that path went wrong (issue 15): a required aliased field in the served
OpenAPI document, errors naming Python names where the schema advertises aliases, a
generated read leaking a tax number, and a backend that no policy permits."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config import parse_config
from tests.erp import Erp
from tests.mcp_requests import tools_call

KEY = "lm_test_generated_agent_0123456789"
GET = "acme_gen.zfi_finance.zfi_customer_get"
CREATE = "acme_gen.zfi_finance.zfi_creditnote_create"


@dataclass
class Generated:
    out: Path
    config: Path
    env: dict[str, str]


async def _lastmile(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    """The CLI as a process: the sandbox serves the WSDL from this event loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", *args, env={**os.environ, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
async def generated(
    erp: Erp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Generated]:
    monkeypatch.chdir(tmp_path)  # the WSDL cache and relative paths land here
    code, stdout, stderr = await _lastmile(
        "adapter", "new", "--wsdl", erp.wsdl_url, "--name", "acme_gen", "--out", "acme_gen"
    )
    assert code == 0, stderr
    assert f"  {GET}\n" in stdout  # the names the catalog will show, as printed
    out = tmp_path / "acme_gen"
    snippet = (out / "gateway.snippet.yaml").read_text()
    assert "acme_gen.adapter" in snippet
    assert snippet in stdout
    # What the engineer does with the snippet: a real key, and the permits listed.
    text = snippet.replace("0" * 64, hashlib.sha256(KEY.encode()).hexdigest())
    text += f"guardrails:\n  policies: [{out / 'permit.cedar'}]\naudit:\n  path: audit.sqlite\n"
    config = tmp_path / "gateway.yaml"
    config.write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    env = {"ACME_GEN_ENDPOINT": erp.endpoint, "PYTHONPATH": str(tmp_path)}
    yield Generated(out, config, env)
    for name in [m for m in sys.modules if m.split(".")[0] == "acme_gen"]:
        del sys.modules[name]


@pytest.fixture
async def gateway(generated: Generated) -> AsyncIterator[TestClient[Any, Any]]:
    config = parse_config(generated.config.read_text(), "gateway.yaml", env=generated.env)
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(config), host="127.0.0.1"))
    await client.start_server()
    yield client
    await client.close()


def _auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {KEY}"}


async def test_check_config_accepts_the_pasted_snippet_without_warnings(
    generated: Generated,
) -> None:
    code, stdout, stderr = await _lastmile("check-config", str(generated.config), env=generated.env)
    assert code == 0, stderr
    assert "7 operation(s)" in stdout
    assert "warning" not in stderr


async def test_check_config_warns_when_no_policy_permits_the_new_backend(
    generated: Generated,
) -> None:
    """Policies that permit another backend only: every acme_gen call would be denied."""
    other = generated.config.with_name("other.cedar")
    other.write_text('permit (principal, action, resource == Backend::"acme_erp");\n')
    text = generated.config.read_text().replace(str(generated.out / "permit.cedar"), str(other))
    denied = generated.config.with_name("denied.yaml")
    denied.write_text(text)
    code, _, stderr = await _lastmile("check-config", str(denied), env=generated.env)
    assert code == 0, stderr
    assert "warning: backend 'acme_gen': no policy" in stderr
    assert "lastmile policy reload" in stderr


async def test_the_generated_package_serves_a_read_over_rest(
    gateway: TestClient[Any, Any],
) -> None:
    response = await gateway.post(
        f"/v1/operations/{GET}", json={"KUNNR": "0000100001"}, headers=_auth()
    )
    assert response.status == 200, await response.text()
    customer = (await response.json())["output"]["CUSTOMER"]
    assert customer["KUNNR"] == "0000100001"
    # guessed Sensitive from SAP's names: the agent has no scope to see them
    assert customer["STCD1"] == "[redacted:tax_id]"
    assert customer["IBAN"] == "[redacted:bank_account]"
    assert customer["SMTP_ADDR"] == customer["TELF1"] == "[redacted:personal_contact]"


async def test_the_openapi_document_shows_the_aliased_required_field(
    gateway: TestClient[Any, Any],
) -> None:
    document = await (await gateway.get("/openapi.json")).json()
    body = document["paths"][f"/v1/operations/{GET}"]["post"]["requestBody"]
    schema_ref = body["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert document["components"]["schemas"][schema_ref]["required"] == ["KUNNR"]


async def test_the_generated_package_serves_a_read_over_mcp(
    gateway: TestClient[Any, Any],
) -> None:
    body, headers = tools_call(GET, {"KUNNR": "0000100001"}, KEY)
    answer = await (await gateway.post("/mcp", json=body, headers=headers)).json()
    result = answer["result"]
    assert result["isError"] is False, result
    assert result["structuredContent"]["CUSTOMER"]["KUNNR"] == "0000100001"


async def test_a_write_is_denied_until_its_permit_is_uncommented(
    gateway: TestClient[Any, Any], generated: Generated
) -> None:
    """permit.cedar permits reads only; a write stays a decision someone makes."""
    cases = json.loads((generated.out / "contract_samples.json").read_text())
    note = next(c["valid"] for c in cases if c["model"] == "ZfiCreditnoteCreate")
    response = await gateway.post(
        f"/v1/operations/{CREATE}", json=note, headers={**_auth(), "Idempotency-Key": "k-1"}
    )
    problem = await response.json()
    assert (response.status, problem["code"]) == (403, "policy_denied"), problem


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kunnr": "12"}, "KUNNR"),  # given by Python name, reported as the schema names it
        ({"KUNNR": "12"}, "KUNNR"),
        ({}, "KUNNR"),
    ],
)
async def test_errors_name_fields_as_the_schema_does_over_rest(
    gateway: TestClient[Any, Any], body: dict[str, Any], field: str
) -> None:
    response = await gateway.post(f"/v1/operations/{GET}", json=body, headers=_auth())
    problem = await response.json()
    assert (response.status, problem["code"]) == (422, "validation_failed")
    assert [e["field"] for e in problem["errors"]] == [field]
    assert "kunnr" not in problem["detail"]


async def test_an_unknown_field_lists_the_allowed_fields_by_alias_over_rest_and_mcp(
    gateway: TestClient[Any, Any],
) -> None:
    body = {"KUNNR": "0000100001", "extra": 1}
    response = await gateway.post(f"/v1/operations/{GET}", json=body, headers=_auth())
    [error] = (await response.json())["errors"]
    assert error["field"] == "extra"
    assert error["message"].endswith("the allowed fields are KUNNR")

    call, headers = tools_call(GET, {"kunnr": "12"}, KEY)
    answer = await (await gateway.post("/mcp", json=call, headers=headers)).json()
    result = answer["result"]
    assert result["isError"] is True
    problem = result["_meta"]["dev.lastmile/problem"]
    assert [e["field"] for e in problem["errors"]] == ["KUNNR"]
    assert "\n- KUNNR: " in result["content"][0]["text"]
