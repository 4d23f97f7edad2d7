"""The generic REST adapter against a real server: credentials sent, answers bounded."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from adapters.acme_warehouse import operations
from adapters.rest import RestAdapter, RestSettings
from schemas.errors import ContractViolation
from schemas.warehouse import StockQuery

MARD = {
    "MATNR": "000000000000100234",
    "WERKS": "1000",
    "LGORT": "0001",
    "LABST": "00000001.000",
    "LAEDA": "20261102",
    "MEINS": "ST",
}


@pytest.fixture
async def backend() -> AsyncIterator[tuple[TestServer, list[str]]]:
    seen: list[str] = []

    async def stock(request: web.Request) -> web.Response:
        seen.append(request.headers.get("Authorization", ""))
        if request.query.get("WERKS") == "9999":
            return web.json_response({"MARD": MARD, "PADDING": "x" * 10_000})
        return web.json_response({"MARD": MARD})

    app = web.Application()
    app.router.add_get("/api/v1/MARD", stock)
    async with TestServer(app, host="127.0.0.1") as server:
        yield server, seen


async def call(server: TestServer, settings: RestSettings, plant: str = "1000") -> object:
    adapter = RestAdapter("wms", settings, operations)
    await adapter.start()
    try:
        op = next(o for o in adapter.operations if o.name == "warehouse.stock.get")
        return await adapter.call(op, StockQuery(material="100234", plant=plant))
    finally:
        await adapter.close()


async def test_basic_auth_is_sent(backend: tuple[TestServer, list[str]]) -> None:
    server, seen = backend
    base = str(server.make_url("")).rstrip("/")
    await call(server, RestSettings(base_url=base, basic_auth=("gw", "s3cret")))
    assert seen == ["Basic " + base64.b64encode(b"gw:s3cret").decode()]


async def test_bearer_token_is_sent(backend: tuple[TestServer, list[str]]) -> None:
    server, seen = backend
    base = str(server.make_url("")).rstrip("/")
    await call(server, RestSettings(base_url=base, bearer_token="tok"))
    assert seen == ["Bearer tok"]


async def test_oversized_answer_is_a_contract_violation(
    backend: tuple[TestServer, list[str]],
) -> None:
    server, _ = backend
    base = str(server.make_url("")).rstrip("/")
    with pytest.raises(ContractViolation, match="more than 2048 bytes"):
        await call(server, RestSettings(base_url=base, max_response_bytes=2048), plant="9999")
