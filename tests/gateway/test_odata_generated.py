"""An adapter generated from TripPin's ``$metadata`` (the OData corpus), served unedited.

``lastmile adapter new --odata`` writes the package into a temporary directory; the
gateway is built from the backend entry and agent stanza it printed (only the agent's
key hash and the service URL are filled in) with the generated ``permit.cedar`` as its
policy. The catalog, the OpenAPI document and the MCP tool list are built from the
generated models, and calls go to a small OData V4 server on loopback that answers
TripPin's ``People`` as the reference service does (the live sandbox test is separate).
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config import parse_config
from tests.adapters.codegen.odata.conftest import CORPUS_MISSING, corpus_documents
from tests.conftest import REPLENISH

NAME = "trip_gen"
RUSSELL = {
    "@odata.etag": 'W/"08D1694BD49A4C2C"',
    "UserName": "russellwhyte",
    "FirstName": "Russell",
    "LastName": "Whyte",
    "Emails": ["Russell@example.com"],
    "AddressInfo": [],
    "Gender": "Male",
    "Concurrency": 635404796846280400,
}


class TripPin:
    """Answers ``People`` by key and by ``$filter``, recording each query string."""

    def __init__(self) -> None:
        self.filters: list[str] = []

    async def serve(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        if tail == "":
            return web.json_response({"value": [{"name": "People", "url": "People"}]})
        if tail == "People('russellwhyte')":
            return web.json_response(RUSSELL)
        if tail == "People":
            self.filters.append(request.query.get("$filter", ""))
            return web.json_response({"value": [RUSSELL]})
        return web.json_response({"error": {"code": "", "message": "Not found."}}, status=404)


async def generate(metadata: Path, out: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "adapter", "new", "--odata", str(metadata),
        "--name", NAME, "--out", str(out), "--owner", "team-travel",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    stdout, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()
    return stdout.decode()


@pytest.fixture
async def served(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[TestClient[Any, Any], TripPin]]:
    metadata = corpus_documents().get("od_trip")
    if metadata is None:
        pytest.skip(CORPUS_MISSING)
    trippin = TripPin()
    app = web.Application()
    app.router.add_get("/trippin/{tail:.*}", trippin.serve)
    backend = TestServer(app, host="127.0.0.1")
    await backend.start_server()
    out = tmp_path / "pkgs" / NAME
    printed = await generate(metadata, out)
    assert "kind: odata" in printed  # the backend entry is printed to paste
    monkeypatch.syspath_prepend(str(out.parent))
    snippet = (out / "gateway.snippet.yaml").read_text()
    snippet = snippet.replace("0" * 64, hashlib.sha256(REPLENISH.encode()).hexdigest())
    text = (
        f"{snippet}audit:\n  path: {tmp_path / 'audit.sqlite'}\n"
        f"guardrails:\n  policies: [{out / 'permit.cedar'}]\n"
    )
    env = {"TRIP_GEN_URL": str(backend.make_url("/trippin"))}
    client: TestClient[Any, Any] = TestClient(
        TestServer(build_app(parse_config(text, "generated.yaml", env=env)), host="127.0.0.1")
    )
    await client.start_server()
    yield client, trippin
    await client.close()
    await backend.close()
    for module in [m for m in sys.modules if m.split(".")[0] == NAME]:
        del sys.modules[module]


AUTH = {"Authorization": f"Bearer {REPLENISH}"}


async def test_the_generated_package_builds_the_catalog_openapi_and_mcp_tools(
    served: tuple[TestClient[Any, Any], TripPin],
) -> None:
    client, _ = served
    catalog = await (await client.get("/v1/operations", headers=AUTH)).json()
    names = {op["name"] for op in catalog["operations"]}
    assert {f"{NAME}.people.get", f"{NAME}.people.query", f"{NAME}.airports.get"} <= names
    assert len(names) == 23
    document = await (await client.get("/openapi.json")).json()
    assert len(document["paths"]) >= 23
    listed = await client.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list",
              "params": {"_meta": {"io.modelcontextprotocol/protocolVersion": "2026-07-28",
                                   "io.modelcontextprotocol/clientCapabilities": {}}}},
        headers={**AUTH, "Accept": "application/json, text/event-stream",
                 "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "tools/list"},
    )  # fmt: skip
    assert listed.status == 200, await listed.text()
    tools = {t["name"] for t in (await listed.json())["result"]["tools"]}
    assert f"{NAME}_people_get" in tools


async def test_a_generated_read_answers_through_the_gateway_and_writes_stay_denied(
    served: tuple[TestClient[Any, Any], TripPin],
) -> None:
    client, trippin = served
    read = await client.post(f"/v1/operations/{NAME}.people.get",
                             json={"UserName": "russellwhyte"}, headers=AUTH)  # fmt: skip
    assert read.status == 200, await read.text()
    person = (await read.json())["output"]
    assert person["FirstName"] == "Russell"
    assert person["Gender"] == "Male"
    assert person["etag"] == 'W/"08D1694BD49A4C2C"'

    found = await client.post(f"/v1/operations/{NAME}.people.query",
                              json={"LastName": "O'Whyte", "top": 5}, headers=AUTH)  # fmt: skip
    assert found.status == 200, await found.text()
    assert [p["UserName"] for p in (await found.json())["output"]["items"]] == ["russellwhyte"]
    assert trippin.filters == ["LastName eq 'O''Whyte'"]  # quoted, never spliced

    bad = await client.post(f"/v1/operations/{NAME}.people.query",
                            json={"Gender": "Robot"}, headers=AUTH)  # fmt: skip
    assert bad.status == 422
    assert (await bad.json())["code"] == "validation_failed"

    # the generated permit.cedar permits reads only: a write is refused before the backend
    create = await client.post(f"/v1/operations/{NAME}.people.create",
                               json={"UserName": "newbie", "FirstName": "N", "LastName": "B"},
                               headers=AUTH)  # fmt: skip
    assert create.status == 403, await create.text()
    assert (await create.json())["code"] == "policy_denied"
