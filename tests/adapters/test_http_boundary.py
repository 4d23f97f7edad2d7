"""The one HTTP boundary, proven through both real adapter kinds against their sandboxes:
a REST adapter against the WMS and a SOAP adapter against the ERP fail the same way on
the same wire trouble, carry the trace context, and read a backend's Retry-After alike."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any

import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from opentelemetry.sdk.trace import TracerProvider
from pydantic import BaseModel

from adapters.acme_warehouse import operations as warehouse_operations
from adapters.base import Canonical, ServedOperations
from adapters.http import MAX_RETRY_AFTER_S, parse_retry_after
from adapters.rest import RestAdapter, RestSettings
from schemas.errors import (
    BackendDisconnected,
    BackendTimeout,
    BackendUnavailable,
    ContractViolation,
)
from schemas.finance import CustomerQuery
from schemas.warehouse import StockQuery
from tests.erp import AdapterFactory, Erp

LIMIT = 65536
WHEN = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)  # what an HTTP-date Retry-After names


@dataclass
class Kind:
    """One adapter kind against its sandbox, driven the same way."""

    name: str
    sandbox: TestServer
    start: Callable[..., Awaitable[ServedOperations[Any]]]  # settings overrides
    operation: str
    payload: BaseModel

    async def fault(self, mode: str, **options: Any) -> None:
        async with ClientSession() as http:
            url = self.sandbox.make_url("/_sandbox/faults")
            response = await http.post(url, json={"mode": mode, **options})
            assert response.status == 200, await response.text()

    async def last_headers(self) -> dict[str, str]:
        async with ClientSession() as http:
            response = await http.get(self.sandbox.make_url("/_sandbox/last_headers"))
            return dict(await response.json())

    async def read(self, adapter: ServedOperations[Any]) -> Canonical:
        [operation] = [op for op in adapter.operations if op.name == self.operation]
        return await adapter.call(operation, self.payload)


@pytest.fixture
async def rest_kind(wms: TestServer) -> AsyncIterator[Kind]:
    started: list[RestAdapter] = []

    async def start(**settings: Any) -> RestAdapter:
        options: dict[str, Any] = {
            "base_url": str(wms.make_url("/")).rstrip("/"),
            "total_timeout_s": 2.0,
            "max_response_bytes": LIMIT,
        }
        adapter = RestAdapter(
            "acme_wms", RestSettings(**{**options, **settings}), warehouse_operations
        )
        await adapter.start()
        started.append(adapter)
        return adapter

    yield Kind(
        "rest", wms, start, "warehouse.stock.get", StockQuery(material="100234", plant="1000")
    )
    for adapter in started:
        await adapter.close()


@pytest.fixture
def soap_kind(erp: Erp, make_adapter: AdapterFactory) -> Kind:
    async def start(**settings: Any) -> ServedOperations[Any]:
        return await make_adapter(erp.wsdl_url, **settings)

    return Kind(
        "soap", erp.server, start, "finance.customers.get", CustomerQuery(customer_id="100001")
    )


@pytest.fixture(params=["rest", "soap"])
def kind(request: pytest.FixtureRequest) -> Kind:
    fixture: Kind = request.getfixturevalue(f"{request.param}_kind")
    return fixture


async def test_the_trace_context_of_the_current_span_reaches_the_backend(kind: Kind) -> None:
    adapter = await kind.start()
    tracer = TracerProvider().get_tracer("test")

    with tracer.start_as_current_span("agent call") as span:
        await kind.read(adapter)
        context = span.get_span_context()

    traceparent = (await kind.last_headers())["traceparent"]
    flags = int(context.trace_flags)
    assert traceparent == f"00-{context.trace_id:032x}-{context.span_id:016x}-{flags:02x}"


async def test_without_a_span_no_trace_context_is_invented(kind: Kind) -> None:
    adapter = await kind.start()

    await kind.read(adapter)

    assert "traceparent" not in await kind.last_headers()


@pytest.mark.parametrize(
    ("settings", "waited"),
    [
        ({"total_timeout_s": 0.3, "read_timeout_s": 10.0}, "0.3 s"),  # the total bound
        ({"total_timeout_s": 5.0, "read_timeout_s": 0.2}, "0.2 s"),  # the read bound
    ],
)
async def test_a_backend_that_does_not_answer_is_a_timeout(
    kind: Kind, settings: dict[str, float], waited: str
) -> None:
    adapter = await kind.start(**settings)
    await kind.fault("slow", delay_s=30)  # released when the sandbox stops

    with pytest.raises(BackendTimeout) as caught:
        await kind.read(adapter)

    assert type(caught.value) is BackendTimeout
    assert (caught.value.status, caught.value.code) == (504, "timeout")
    assert waited in caught.value.detail


async def test_a_refused_connection_is_unavailable_and_retryable(kind: Kind) -> None:
    closed = TestServer(web.Application(), host="127.0.0.1")
    await closed.start_server()
    nowhere = str(closed.make_url("/sap/bc/srt/acme/finance"))
    await closed.close()  # nothing listens on this port any more
    if kind.name == "rest":
        adapter = await kind.start(base_url=nowhere.rpartition("/sap")[0])
    else:
        adapter = await kind.start(wsdl_options={"endpoint": nowhere})

    with pytest.raises(BackendUnavailable) as caught:
        await kind.read(adapter)

    assert (caught.value.status, caught.value.code, caught.value.retryable) == (
        503,
        "backend_unavailable",
        True,
    )
    assert "cannot be reached" in caught.value.detail


async def test_a_dropped_connection_is_an_unknown_outcome_like_a_timeout(kind: Kind) -> None:
    adapter = await kind.start()
    await kind.fault("reset")

    with pytest.raises(BackendDisconnected) as caught:
        await kind.read(adapter)

    assert isinstance(caught.value, BackendTimeout)  # the gateway looks before re-sending
    assert (caught.value.status, caught.value.code) == (502, "backend_disconnected")
    assert "unknown" in caught.value.detail


async def test_an_answer_above_the_size_limit_is_refused_at_the_limit(kind: Kind) -> None:
    adapter = await kind.start()
    await kind.fault("huge", size_bytes=1024 * 1024)  # the WMS sends 8 MiB whatever the size

    with pytest.raises(ContractViolation) as caught:
        await kind.read(adapter)

    assert (caught.value.status, caught.value.code) == (502, "backend_contract_violation")
    assert f"more than {LIMIT} bytes" in caught.value.detail


@pytest.mark.parametrize("mode", ["unavailable", "throttled"])
@pytest.mark.parametrize(
    ("retry_after", "seconds_before", "expected"),
    [
        ("7", 0.0, "7"),
        ("1.2", 0.0, "2"),  # a fraction is rounded up ...
        ("0", 0.0, "1"),  # ... and never to "retry now"
        (format_datetime(WHEN, usegmt=True), 59.5, "60"),  # IMF-fixdate, half a second short
        ("Wednesday, 21-Oct-26 07:28:00 GMT", 120.0, "120"),  # RFC 850
        ("Wed Oct 21 07:28:00 2026", 3.0, "3"),  # asctime: no zone, so UTC
        (format_datetime(WHEN, usegmt=True), -30.0, "1"),  # a date already past
        ("soon", 0.0, None),  # not a delay, not a date: no Retry-After passed on
        ("", 0.0, None),
    ],
)
async def test_a_backends_retry_after_is_read_and_rounded_by_one_rule(
    kind: Kind, mode: str, retry_after: str, seconds_before: float, expected: str | None
) -> None:
    now = WHEN.timestamp() - seconds_before
    adapter = await kind.start(wall_clock=lambda: now)
    await kind.fault(mode, retry_after=retry_after)

    with pytest.raises(BackendUnavailable) as caught:
        await kind.read(adapter)

    assert (caught.value.status, caught.value.code) == (503, "backend_unavailable")
    assert f"HTTP {429 if mode == 'throttled' else 503}" in caught.value.detail
    if expected is None:
        assert caught.value.headers == {}
    else:
        assert caught.value.headers == {"Retry-After": expected}
        assert f"again in {expected} s" in caught.value.detail


def test_retry_after_values_a_backend_could_abuse_are_bounded() -> None:
    assert parse_retry_after("999999999999", 0.0) == MAX_RETRY_AFTER_S
    assert parse_retry_after("Fri, 31 Dec 9999 23:59:59 GMT", 0.0) == MAX_RETRY_AFTER_S
    assert parse_retry_after("9" * 5000, 0.0) is None  # not a delay-seconds we accept
    assert parse_retry_after("-5", 0.0) is None
    assert parse_retry_after(None, 0.0) is None
