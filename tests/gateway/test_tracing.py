"""Tracing: one span per stage, nested as the stages are, context passed to the backend."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from gateway.app import build_app
from gateway.appkeys import PIPELINE
from gateway.tracing import TracedStage
from tests.conftest import INVENTORY, make_config
from tests.mcp_requests import tools_call


@pytest.fixture
async def traced_gateway(
    tmp_path: Path,
) -> AsyncIterator[tuple[TestClient[Any, Any], InMemorySpanExporter, list[str]]]:
    seen_traceparents: list[str] = []

    async def stock(request: web.Request) -> web.Response:
        seen_traceparents.append(request.headers.get("traceparent", ""))
        mard = {
            "MATNR": "000000000000100234",
            "WERKS": "1000",
            "LGORT": "0001",
            "LABST": "00000001.000",
            "LAEDA": "20261102",
            "MEINS": "ST",
        }
        return web.json_response({"MARD": mard})

    backend = web.Application()
    backend.router.add_get("/api/v1/MARD", stock)
    async with TestServer(backend, host="127.0.0.1") as wms:
        exporter = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        config = make_config(str(wms.make_url("/")).rstrip("/"), tmp_path / "audit.sqlite")
        app = build_app(config, tracer=provider.get_tracer("test"))
        async with TestClient(TestServer(app, host="127.0.0.1")) as client:
            yield client, exporter, seen_traceparents


async def test_each_stage_has_a_span_and_the_backend_gets_the_trace_context(
    traced_gateway: tuple[TestClient[Any, Any], InMemorySpanExporter, list[str]],
) -> None:
    client, exporter, traceparents = traced_gateway
    response = await client.post(
        "/v1/operations/warehouse.stock.get",
        json={"material": "100234", "plant": "1000"},
        headers={"Authorization": f"Bearer {INVENTORY}"},
    )
    assert response.status == 200

    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert {"lastmile.Record", "lastmile.Identify", "lastmile.CallBackend"} <= set(spans)
    root = spans["lastmile.Measure"]
    assert root.attributes is not None
    assert root.attributes["lastmile.request_id"] == response.headers["X-Request-Id"]
    assert root.attributes["lastmile.outcome"] == "ok"
    backend_span = spans["lastmile.CallBackend"]
    assert backend_span.parent is not None
    trace_id = f"{backend_span.context.trace_id:032x}"
    [traceparent] = traceparents
    assert traceparent.split("-")[1] == trace_id


async def test_the_agents_trace_is_continued(
    traced_gateway: tuple[TestClient[Any, Any], InMemorySpanExporter, list[str]],
) -> None:
    client, exporter, _ = traced_gateway
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    response = await client.post(
        "/v1/operations/warehouse.stock.get",
        json={"material": "100234", "plant": "1000"},
        headers={
            "Authorization": f"Bearer {INVENTORY}",
            "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01",
        },
    )
    assert response.status == 200
    root = next(s for s in exporter.get_finished_spans() if s.name == "lastmile.Measure")
    assert f"{root.context.trace_id:032x}" == trace_id
    assert root.parent is not None
    assert f"{root.parent.span_id:016x}" == "00f067aa0ba902b7"


async def test_the_agents_trace_is_continued_over_mcp_too(
    traced_gateway: tuple[TestClient[Any, Any], InMemorySpanExporter, list[str]],
) -> None:
    client, exporter, traceparents = traced_gateway
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    body, headers = tools_call(
        "warehouse.stock.get", {"material": "100234", "plant": "1000"}, INVENTORY
    )
    headers["traceparent"] = f"00-{trace_id}-b7ad6b7169203331-01"
    response = await client.post("/mcp", json=body, headers=headers)
    assert (await response.json())["result"]["isError"] is False
    root = next(s for s in exporter.get_finished_spans() if s.name == "lastmile.Measure")
    assert f"{root.context.trace_id:032x}" == trace_id
    [traceparent] = traceparents
    assert traceparent.split("-")[1] == trace_id  # and handed on to the backend


async def test_tracing_is_off_by_default(tmp_path: Path) -> None:
    config = make_config("http://127.0.0.1:9", tmp_path / "audit.sqlite")
    app = build_app(config)
    assert not any(isinstance(stage, TracedStage) for stage in app[PIPELINE].stages)
