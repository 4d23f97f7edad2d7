"""The OData generator on small documents: hostile XML, references never fetched, a
``$metadata`` read from a URL, SAP flags and labels, and the command line."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.codegen.loader import GeneratorError
from adapters.codegen.odata import generate_odata_adapter
from adapters.codegen.odata.csdl import read_service

FIXTURE = Path(__file__).parent / "metadata" / "customers_v2.xml"


@pytest.fixture
async def metadata_server() -> AsyncIterator[tuple[TestServer, list[str]]]:
    """Serves the fixture at ``/sap/ZCUSTOMER_SRV/$metadata`` and records every request,
    so a test can prove the vocabulary reference was never fetched."""
    requests: list[str] = []

    async def serve(request: web.Request) -> web.Response:
        requests.append(request.path)
        if request.path.endswith("/$metadata"):
            body = FIXTURE.read_bytes().replace(
                b"VOCABULARY_URL", str(request.url.with_path("/vocabularies/common")).encode()
            )
            return web.Response(body=body, content_type="application/xml")
        return web.Response(status=404)

    app = web.Application()
    app.router.add_get("/{tail:.*}", serve)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    yield server, requests
    await server.close()


def test_a_document_with_a_dtd_is_refused(tmp_path: Path) -> None:
    hostile = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]>'
        b'<edmx:Edmx xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">&e;</edmx:Edmx>'
    )
    with pytest.raises(GeneratorError, match="DTD"):
        read_service(hostile, "hostile.xml")


def test_a_document_that_is_not_csdl_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "wsdl.xml"
    path.write_bytes(b'<definitions xmlns="http://schemas.xmlsoap.org/wsdl/"/>')
    with pytest.raises(GeneratorError, match="not a CSDL document"):
        generate_odata_adapter(str(path), "oops", tmp_path / "out")


async def test_metadata_from_a_url_is_read_once_and_its_references_never_fetched(
    metadata_server: tuple[TestServer, list[str]], tmp_path: Path
) -> None:
    server, requests = metadata_server
    url = str(server.make_url("/sap/ZCUSTOMER_SRV/$metadata"))
    # the generator reads synchronously, as the command does: off the loop serving it
    result = await asyncio.to_thread(generate_odata_adapter, url, "crm", tmp_path / "crm")
    assert requests == ["/sap/ZCUSTOMER_SRV/$metadata"]  # the vocabulary URL was not asked
    assert f"service_root: ${{CRM_URL:-{url.removesuffix('/$metadata')}}}" in result.backend_entry
    assert 'version: "2.0"' in result.backend_entry
    assert "csrf: true" in result.backend_entry


def test_sap_flags_labels_and_sensitive_guesses_reach_the_package(tmp_path: Path) -> None:
    out = tmp_path / "crm"
    generate_odata_adapter(str(FIXTURE), "crm", out)
    adapter = (out / "adapter.py").read_text()
    models = (out / "models.py").read_text()
    assert '"crm.customers.create"' in adapter
    assert '"crm.customers.delete"' not in adapter  # sap:deletable="false"
    assert '"crm.customers.block_customer"' in adapter
    assert "Block a customer for sales." in adapter  # the FunctionImport's sap:label
    assert 'description="Customer name"' in models  # Common.Label via the include alias
    assert 'Sensitive("tax_id")' in models  # STCD1, from its label "Tax Number 1"
    assert "max_digits=13, decimal_places=2" in models
    cedar = (out / "permit.cedar").read_text()
    assert 'permit (principal, action in Action::"read", resource == Backend::"crm");' in cedar
    assert '// permit (principal, action == Action::"crm.customers.create"' in cedar


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own command line
        [sys.executable, "-m", "gateway", "adapter", "new", *args],
        capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_the_command_generates_the_chosen_entity_sets_and_refuses_unknown_ones(
    tmp_path: Path,
) -> None:
    made = _cli("--odata", str(FIXTURE), "--name", "crm", "--out", str(tmp_path / "crm"),
                "--entity-sets", "Customers")  # fmt: skip
    assert made.returncode == 0, made.stderr
    assert "OData 2.0, 5 operation(s)" in made.stdout
    assert "kind: odata" in made.stdout
    unknown = _cli("--odata", str(FIXTURE), "--name", "crm", "--out", str(tmp_path / "x"),
                   "--entity-sets", "Vendors")  # fmt: skip
    assert unknown.returncode == 2
    assert "no entity set Vendors" in unknown.stderr
    misplaced = _cli("--wsdl", "x.wsdl", "--name", "crm", "--entity-sets", "Customers")
    assert misplaced.returncode == 2
    assert "--entity-sets needs --odata" in misplaced.stderr
