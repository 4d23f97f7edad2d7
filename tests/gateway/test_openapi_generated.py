"""An adapter generated from the ACME WMS sandbox's own OpenAPI description, served unedited.

The sandbox publishes ``GET /openapi.json``; ``lastmile adapter new --openapi`` turns it
into a package in a temporary directory, and the gateway serves that package with the
backend entry and agent stanza the generator wrote (only the agent's key hash, a TODO,
is filled in). Calls go through the gateway's REST face like any agent's.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config import parse_config
from tests.conftest import REPLENISH, Gateway
from tests.gateway.resilience.conftest import FakeTime, sandbox_post, sandbox_stats

NAME = "wms_gen"
READ = f"{NAME}.stock.get_stock"
WRITE = f"{NAME}.goods_movements.post_goods_movement"
STOCK = {"MATNR": "100234", "WERKS": "1000"}
RECEIPT = {"body": {"MATNR": "100234", "WERKS": "1000", "BWART": "101", "ERFMG": "5",
                    "BUDAT": "20261126", "XBLNR": "PO-4711"}}  # fmt: skip

Start = Callable[..., Awaitable[Gateway]]


async def generate(url: str, out: Path) -> str:
    """Run the generator as an agent's engineer would, against the live sandbox."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "adapter", "new", "--openapi", url,
        "--name", NAME, "--out", str(out), "--owner", "team-logistics",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


@pytest.fixture
async def generated_gateway(
    wms: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, log_stream: io.StringIO
) -> AsyncIterator[Start]:
    """``await start(extra_yaml, timeouts=...)``: a gateway serving the generated package."""
    out = tmp_path / "pkgs" / NAME
    printed = await generate(str(wms.make_url("/openapi.json")), out)
    assert "kind: rest" in printed  # the backend entry is printed to paste
    monkeypatch.syspath_prepend(str(out.parent))
    snippet = (out / "gateway.snippet.yaml").read_text()
    key_hash = hashlib.sha256(REPLENISH.encode()).hexdigest()
    snippet = snippet.replace("0" * 64, key_hash)  # the one TODO a config cannot do without
    clients: list[TestClient[Any, Any]] = []
    fake_time = FakeTime()

    async def start(extra: str = "", timeouts: str = "") -> Gateway:
        text = snippet
        if timeouts:
            text = text.replace("{connect_s: 2, read_s: 10, total_s: 15}", timeouts)
        text += f"audit:\n  path: {tmp_path / f'audit{len(clients)}.sqlite'}\n{extra}"
        config = parse_config(text, "generated.yaml", env={})
        client: TestClient[Any, Any] = TestClient(
            TestServer(build_app(config, timing=fake_time.timing), host="127.0.0.1")
        )
        await client.start_server()
        clients.append(client)
        return Gateway(client, wms, tmp_path / "audit0.sqlite")

    yield start
    for client in clients:
        await client.close()
    for module in [m for m in sys.modules if m.split(".")[0] == NAME]:
        del sys.modules[module]


async def test_generated_adapter_reads_and_writes_the_sandbox_through_the_gateway(
    generated_gateway: Start,
) -> None:
    gateway = await generated_gateway()
    ready = await gateway.client.get("/readyz")  # the health path came from the description
    assert ready.status == 200
    assert [(b["name"], b["ready"]) for b in (await ready.json())["backends"]] == [(NAME, True)]

    read = await gateway.invoke(READ, STOCK, REPLENISH)
    assert read.status == 200, await read.text()
    assert (await read.json())["output"]["MARD"]["LABST"] == "00000125.000"

    posted = await gateway.invoke(WRITE, RECEIPT, REPLENISH, **{"Idempotency-Key": "gen-1"})
    assert posted.status == 200, await posted.text()
    document = (await posted.json())["output"]
    assert document == {"MBLNR": "4900000001", "MJAHR": "2026", "LABST_NEW": "00000130.000"}

    again = await gateway.invoke(READ, STOCK, REPLENISH)
    assert (await again.json())["output"]["MARD"]["LABST"] == "00000130.000"
    found = await gateway.invoke(f"{NAME}.goods_movements.find_goods_movement",
                                 {"EXTREF": "not-posted"}, REPLENISH)  # fmt: skip
    assert found.status == 404
    assert (await found.json())["code"] == "backend_not_found"


async def test_the_generated_models_refuse_what_the_description_forbids(
    generated_gateway: Start,
) -> None:
    gateway = await generated_gateway()
    bad_kind = {"body": {**RECEIPT["body"], "BWART": "999"}}
    too_precise = {"body": {**RECEIPT["body"], "ERFMG": "1.0005"}}
    for body in (bad_kind, too_precise, {"MATNR": "100234", "WERKS": "10000"}):
        operation = READ if "WERKS" in body else WRITE
        refused = await gateway.invoke(operation, body, REPLENISH)
        assert refused.status == 422, body
        assert (await refused.json())["code"] == "validation_failed"
    assert (await sandbox_stats(gateway.wms))["api_calls"] == 0


async def test_the_backend_key_goes_into_the_external_reference_and_a_lost_answer_is_looked_up(
    generated_gateway: Start,
) -> None:
    gateway = await generated_gateway(
        "resilience: {defaults: {retry: {attempts: 3}}}\n",
        timeouts="{connect_s: 1, read_s: 1, total_s: 0.5}",
    )
    fault = {"mode": "committed_timeout", "delay_s": 30, "count": 1}
    await sandbox_post(gateway.wms, "/_sandbox/faults", fault)

    response = await gateway.invoke(WRITE, RECEIPT, REPLENISH, **{"Idempotency-Key": "lost"})

    assert response.status == 200, await response.text()
    assert (await response.json())["output"]["LABST_NEW"] == "00000130.000"
    [event] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert [a.error_code for a in event.attempts] == ["timeout", None]
    assert event.attempts[1].detail == "found by its external reference"
    assert (await sandbox_stats(gateway.wms))["documents"] == 1


async def test_a_throttled_backends_retry_after_reaches_the_agent(
    generated_gateway: Start,
) -> None:
    gateway = await generated_gateway()
    async with ClientSession() as http:
        switched = await http.post(
            gateway.wms.make_url("/_sandbox/faults"),
            json={"mode": "throttled", "retry_after": "30"},
        )
        assert switched.status == 200

    response = await gateway.invoke(READ, STOCK, REPLENISH)

    assert response.status == 503
    assert (await response.json())["code"] == "backend_unavailable"
    assert response.headers["Retry-After"] == "30"


async def test_the_generated_cedar_file_permits_reads_and_leaves_writes_to_a_person(
    generated_gateway: Start, tmp_path: Path
) -> None:
    permit = tmp_path / "pkgs" / NAME / "permit.cedar"
    gateway = await generated_gateway(f"guardrails:\n  policies: [{permit}]\n")

    assert (await gateway.invoke(READ, STOCK, REPLENISH)).status == 200
    denied = await gateway.invoke(WRITE, RECEIPT, REPLENISH, **{"Idempotency-Key": "no"})
    assert denied.status == 403
    assert (await sandbox_stats(gateway.wms))["documents"] == 0


async def test_a_dry_run_of_a_generated_write_shows_the_request_and_sends_nothing(
    generated_gateway: Start,
) -> None:
    gateway = await generated_gateway()

    response = await gateway.invoke(WRITE, RECEIPT, REPLENISH, **{"X-Dry-Run": "true"})

    assert response.status == 200, await response.text()
    request = (await response.json())["backend_request"]
    assert (request["method"], request["path"]) == ("POST", "/api/v1/goodsmovement")
    sent = {k: v for k, v in request["body"].items() if k != "EXTREF"}  # a fresh key per call
    assert sent == RECEIPT["body"]
    assert (await sandbox_stats(gateway.wms))["documents"] == 0
