"""An adapter generated from the ACME sales sandbox's own ``$metadata`` and called live
through the gateway, unedited: the engineer's path for OData end to end.

The engineer fetches ``$metadata`` with the service's credentials (as with curl and a
token), runs ``lastmile adapter new --odata`` on the file, pastes the printed backend
entry (filling in the URL, the OAuth client and an agent's key), and uncomments the write
permit they reviewed. The generated package itself is not touched.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import ClientSession
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.config import parse_config
from sandbox import acme_odata
from tests.conftest import REPLENISH
from tests.odata import SalesSandbox

NAME = "sales_live_gen"
AUTH = {"Authorization": f"Bearer {REPLENISH}"}
OAUTH = f"""    auth:
      type: oauth2_client_credentials
      token_url: ${{SALES_TOKEN_URL}}
      client_id: {acme_odata.CLIENT_ID}
      client_secret: ${{SALES_SECRET}}
"""


async def fetch_metadata(sandbox: SalesSandbox, into: Path) -> Path:
    """``$metadata`` as an engineer fetches it: a token first, then the document."""
    async with ClientSession() as http:
        token = await http.post(
            sandbox.url("/oauth/token"),
            data={
                "grant_type": "client_credentials",
                "client_id": acme_odata.CLIENT_ID,
                "client_secret": acme_odata.CLIENT_SECRET,
            },
        )
        access = (await token.json())["access_token"]
        document = await http.get(
            sandbox.url(acme_odata.V4.root + "/$metadata"),
            headers={"Authorization": f"Bearer {access}"},
        )
        assert document.status == 200
        body = await document.read()
    await asyncio.to_thread(into.write_bytes, body)
    return into


async def generate(metadata: Path, out: Path) -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway", "adapter", "new", "--odata", str(metadata),
        "--name", NAME, "--out", str(out),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, stderr = await process.communicate()
    assert process.returncode == 0, stderr.decode()


@pytest.fixture
async def served(
    sales_sandbox: SalesSandbox, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[TestClient[Any, Any]]:
    out = tmp_path / "pkgs" / NAME
    await generate(await fetch_metadata(sales_sandbox, tmp_path / "metadata.xml"), out)
    monkeypatch.syspath_prepend(str(out.parent))
    snippet = (out / "gateway.snippet.yaml").read_text()
    snippet = snippet.replace("0" * 64, hashlib.sha256(REPLENISH.encode()).hexdigest())
    snippet = snippet.replace(
        "    # auth: TODO basic, bearer or oauth2_client_credentials (docs/odata-codegen.md)\n",
        OAUTH,
    )
    assert OAUTH in snippet  # the printed entry still has its auth placeholder
    permits = out / "permit.cedar"
    create = f'Action::"{NAME}.sales_orders.create"'
    reviewed = "\n".join(
        line.removeprefix("// ")
        if f"{NAME}-sales-orders-create" in line
        or 'reason("create SalesOrders' in line
        or create in line
        else line
        for line in permits.read_text().splitlines()
    )
    permits.write_text(reviewed)
    text = (
        f"{snippet}audit:\n  path: {tmp_path / 'audit.sqlite'}\n"
        f"guardrails:\n  policies: [{permits}]\n"
    )
    env = {
        f"{NAME.upper()}_URL": sales_sandbox.url(acme_odata.V4.root),
        "SALES_TOKEN_URL": sales_sandbox.url("/oauth/token"),
        "SALES_SECRET": acme_odata.CLIENT_SECRET,
    }
    client: TestClient[Any, Any] = TestClient(
        TestServer(build_app(parse_config(text, "generated.yaml", env=env)), host="127.0.0.1")
    )
    await client.start_server()
    yield client
    await client.close()
    for module in [m for m in sys.modules if m.split(".")[0] == NAME]:
        del sys.modules[module]


async def test_a_package_generated_from_the_sandbox_reads_and_writes_live_unedited(
    served: TestClient[Any, Any], sales_sandbox: SalesSandbox
) -> None:
    partner = await served.post(
        f"/v1/operations/{NAME}.business_partners.get",
        json={"BusinessPartnerID": "1000100"},
        headers=AUTH,
    )
    assert partner.status == 200, await partner.text()
    output = (await partner.json())["output"]
    assert output["Name"] == "Becker Berlin GmbH"
    assert output["TaxNumber"] != "DE123456789"  # guessed sensitive: redacted for this agent

    found = await served.post(
        f"/v1/operations/{NAME}.business_partners.query",
        json={"Name": "Müller & O'Brien KG", "top": 5},
        headers=AUTH,
    )
    assert found.status == 200, await found.text()
    assert [p["BusinessPartnerID"] for p in (await found.json())["output"]["items"]] == ["1000101"]

    before = len(sales_sandbox.orders())
    order = {
        "CustomerID": "1000100",
        "Currency": "EUR",
        "Items": [
            {"ItemNo": 10, "ProductID": "HT-1000", "Quantity": "2"},
        ],
    }
    created = await served.post(
        f"/v1/operations/{NAME}.sales_orders.create",
        json=order,
        headers={**AUTH, "Idempotency-Key": "gen-order-1"},
    )
    assert created.status == 200, await created.text()
    assert len(sales_sandbox.orders()) == before + 1
    again = await served.post(
        f"/v1/operations/{NAME}.sales_orders.create",
        json=order,
        headers={**AUTH, "Idempotency-Key": "gen-order-1"},
    )
    assert again.status == 200
    assert len(sales_sandbox.orders()) == before + 1  # replayed, never created twice
