"""The benchmark's harness cannot rot silently: its mix is the intended one, its config
variants load, and every kind of call in the mix gets the answer the bench expects from a
real gateway (shipped policies, budgets, limits) and from the WMS sandbox itself.

No timings here: speed is measured in bench/, never in tests.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from bench import workload
from bench.run import config_text
from gateway.app import build_app
from gateway.config import parse_config
from sandbox import acme_warehouse, warehouse_catalogue

CATALOGUE = 500


def test_the_cycle_is_ninety_percent_varied_reads_and_ten_percent_keyed_writes() -> None:
    calls = workload.cycle(CATALOGUE)
    kinds = Counter(call.kind for call in calls)
    assert len(calls) == workload.CYCLE
    assert kinds["movement"] == workload.CYCLE // 10
    assert all(call.is_write == (i % 10 == 9) for i, call in enumerate(calls))
    reads = [call for call in calls if not call.is_write]
    assert kinds["stock_missing"] + kinds["item_missing"] == len(reads) // 20
    found = kinds["stock"] + kinds["item"]
    assert 0.55 < kinds["stock"] / found < 0.78  # two stock reads for each item read
    materials = {json.loads(call.gateway.body or "{}")["material"] for call in reads}
    assert len(materials) > 300  # spread over the catalogue, not one hot item
    assert workload.cycle(CATALOGUE) == calls  # reproducible


def test_writes_are_ones_the_shipped_policies_admit_without_a_hold() -> None:
    for call in workload.cycle(CATALOGUE):
        if not call.is_write:
            continue
        body = json.loads(call.gateway.body or "{}")
        headers = dict(call.gateway.headers)
        assert headers["Idempotency-Key"] == workload.KEY
        assert headers["Authorization"] == f"Bearer {workload.KEYS['replenishment-bot']}"
        assert headers["X-On-Behalf-Of"].startswith("planner-")
        assert body["kind"] == "receipt"
        assert 1 <= int(body["quantity"]) <= 100
        legacy = json.loads(call.legacy.body or "{}")
        assert legacy["EXTREF"] == "LM" + workload.KEY
        assert legacy["MATNR"] == body["material"].zfill(18)


def test_keys_are_fixed_length_and_distinct_so_rendered_requests_keep_their_length() -> None:
    keys = {workload.key("r0000001", stream, n) for stream in (0, 99) for n in range(500)}
    assert len(keys) == 1000
    assert {len(k) for k in keys} == {workload.KEY_LENGTH}
    write = next(call for call in workload.cycle(CATALOGUE) if call.is_write)
    for request in (write.gateway, write.legacy):
        text = workload.fill(workload.raw(request, "127.0.0.1:1"), "x" * workload.KEY_LENGTH)
        head, body = text.split("\r\n\r\n", 1)
        assert f"Content-Length: {len(body.encode())}" in head


def test_the_wrk_script_carries_every_request_of_the_cycle() -> None:
    requests = [call.legacy for call in workload.cycle(CATALOGUE)]
    script = workload.lua_script(requests, "127.0.0.1:1", "r0000001")
    entries = re.findall(r'^\{"(GET|POST) ', script, re.M)
    assert len(entries) == len(requests)
    split = re.findall(r'^\{"POST [^\n]*", "', script, re.M)  # a key's place: two parts
    assert len(split) == sum(call.is_write for call in workload.cycle(CATALOGUE))


def test_the_bench_config_and_its_variants_load() -> None:
    env = {"LASTMILE_ACME_WMS_URL": "http://127.0.0.1:1"}
    shipped = parse_config(config_text("memory", "", ""), "bench.yaml", env)
    limits = shipped.resilience.rate_limits
    assert limits.agent is not None
    assert limits.agent.window_s == 60
    assert limits.agent_operation is not None
    assert limits.agent_operation.window_s == 3600
    assert shipped.state.store == "memory"
    assert [b.window for b in shipped.guardrails.budgets] == [86400, 86400]  # a day
    fleet = parse_config(config_text("redis", "redis://127.0.0.1:1/0", "p:", 1), "b.yaml", env)
    assert fleet.state.store == "redis"
    assert fleet.state.prefix == "p:"
    assert fleet.resilience.rate_limits.agent_operation is not None
    assert fleet.resilience.rate_limits.agent_operation.window_s == 1


async def test_every_kind_of_call_gets_the_answer_the_bench_expects(tmp_path: Path) -> None:
    """One call of each kind through a gateway on the bench config (shipped policies) and
    its legacy twin straight to the sandbox: the statuses the bench checks under load."""
    wms = TestServer(acme_warehouse.create_app(tmp_path / "wms.sqlite", CATALOGUE))
    await wms.start_server()
    env = {
        "LASTMILE_ACME_WMS_URL": str(wms.make_url("")).rstrip("/"),
        "LASTMILE_AUDIT_DB": str(tmp_path / "audit.sqlite"),
        "LASTMILE_AUDIT_KEY_FILE": str(tmp_path / "signing.pem"),
        "LASTMILE_APPROVALS_DB": str(tmp_path / "approvals.sqlite"),
    }
    config = parse_config(config_text("memory", "", ""), "bench.yaml", env)
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(config)))
    await client.start_server()
    try:
        firsts = {call.kind: call for call in reversed(workload.cycle(CATALOGUE))}
        assert set(firsts) == {"stock", "item", "stock_missing", "item_missing", "movement"}
        async with ClientSession() as http:
            for n, call in enumerate(firsts.values()):
                value = workload.key("testtest", 0, n)
                for request, send in (
                    (call.gateway, client.request),
                    (call.legacy, lambda m, p, **kw: http.request(m, wms.make_url(p), **kw)),
                ):
                    headers = {k: workload.fill(v, value) for k, v in request.headers}
                    body = workload.fill(request.body, value) if request.body else None
                    response = await send(request.method, request.path, data=body, headers=headers)
                    answer = await response.text()
                    assert response.status == request.expect, (call.kind, answer)
                    if call.kind == "movement" and request is call.gateway:
                        posted = json.loads(answer)["output"]  # posted, not held (202)
                        assert posted["kind"] == "receipt"
                        assert posted["document_number"]
    finally:
        await client.close()
        await wms.close()
    assert warehouse_catalogue.material(0) == "500000"
