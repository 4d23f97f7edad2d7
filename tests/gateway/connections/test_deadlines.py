"""Idle and dripping connections are closed; ordinary calls are not disturbed."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from tests.gateway.connections.served import (
    CALL_HEADERS,
    STOCK,
    STOCK_PATH,
    assert_closing_problem,
    parse_answer,
    request,
    serve,
)


async def test_a_connection_that_sends_nothing_is_closed_after_the_header_deadline(
    wms: TestServer, tmp_path: Path
) -> None:
    async with serve(wms, tmp_path, "{header_s: 0.2, idle_s: 30}") as served:
        connection = await served.connect()
        opened = time.monotonic()
        assert await connection.until_closed() == b""  # closed without an answer
        assert time.monotonic() - opened >= 0.15


async def test_a_dripping_head_gets_408_before_it_completes(
    wms: TestServer, tmp_path: Path
) -> None:
    head = request("GET", "/healthz", headers={"X-Padding": "p" * 40})
    async with serve(wms, tmp_path, "{header_s: 0.3, idle_s: 30}") as served:
        connection = await served.connect()
        # a byte every 50 ms: each gap is well inside the deadline, the whole head is not
        connection.start_drip(head, every_s=0.05)
        answer = parse_answer(await connection.until_closed())
        assert connection.dripped < len(head)
        assert_closing_problem(answer, 408, "request_timeout")


async def test_the_head_deadline_also_runs_for_the_next_request_on_a_kept_connection(
    wms: TestServer, tmp_path: Path
) -> None:
    async with serve(wms, tmp_path, "{header_s: 0.3, idle_s: 30}") as served:
        connection = await served.connect()
        await connection.send(request("GET", "/healthz"))
        assert (await connection.answer()).status == 200
        head = request("GET", "/healthz", headers={"X-Padding": "p" * 40})
        connection.start_drip(head, every_s=0.05)
        answer = parse_answer(await connection.until_closed())
        assert connection.dripped < len(head)
        assert answer.status == 408
        assert answer.json()["code"] == "request_timeout"


async def test_a_dripping_body_is_cut_off_with_408_and_the_call_never_runs(
    wms: TestServer, tmp_path: Path
) -> None:
    async with serve(wms, tmp_path, "{header_s: 5, body_s: 0.3, idle_s: 30}") as served:
        connection = await served.connect()
        await connection.send(request("POST", STOCK_PATH, STOCK, CALL_HEADERS)[: -len(STOCK)])
        connection.start_drip(STOCK, every_s=0.05)
        answer = await connection.answer()
        assert await connection.until_closed() == b""
        assert connection.dripped < len(STOCK)
        assert answer.status == 408
        problem = answer.json()
        assert problem["code"] == "request_timeout"
        [event] = await served.audit(request_id=problem["request_id"])
        assert (event.outcome, event.status) == ("request_timeout", 408)
        async with aiohttp.ClientSession() as http:
            stats = await (await http.get(wms.make_url("/_sandbox/stats"))).json()
        assert stats["api_calls"] == 0


async def test_a_dripping_body_after_an_early_answer_is_closed_at_its_deadline(
    wms: TestServer, tmp_path: Path
) -> None:
    """The gateway refuses a call without a key before reading its body; the body's
    deadline still closes the connection rather than draining the drip."""
    async with serve(wms, tmp_path, "{header_s: 5, body_s: 0.3, idle_s: 30}") as served:
        connection = await served.connect()
        headers = {"Content-Type": "application/json"}
        await connection.send(request("POST", STOCK_PATH, STOCK, headers)[: -len(STOCK)])
        connection.start_drip(STOCK, every_s=0.05)
        answer = await connection.answer()
        assert answer.status == 401
        assert await connection.until_closed() == b""
        assert connection.dripped < len(STOCK)


async def test_an_idle_keep_alive_connection_is_closed_after_idle_s(
    wms: TestServer, tmp_path: Path
) -> None:
    async with serve(wms, tmp_path, "{header_s: 30, idle_s: 0.2}") as served:
        connection = await served.connect()
        await connection.send(request("GET", "/healthz"))
        answer = await connection.answer()
        assert answer.status == 200
        answered = time.monotonic()
        assert await connection.until_closed() == b""  # closed without an answer
        assert time.monotonic() - answered >= 0.15


async def test_ordinary_calls_are_not_disturbed(wms: TestServer, tmp_path: Path) -> None:
    """Heads and bodies in pieces, keep-alive, pipelining, and a backend slower than
    every connection deadline: none of it is cut, because no deadline runs while the
    gateway handles a request."""
    deadlines = "{header_s: 0.3, body_s: 0.3, idle_s: 30}"
    async with serve(wms, tmp_path, deadlines, backend_total_s=5) as served:
        connection = await served.connect()
        call = request("POST", STOCK_PATH, STOCK, CALL_HEADERS)
        await connection.send(call[:20])
        await connection.send(call[20 : -len(STOCK) + 5])
        await connection.send(call[-len(STOCK) + 5 :])
        first = await connection.answer()
        assert first.status == 200, first.body
        assert first.json()["output"]["material"] == "100234"

        await connection.send(request("GET", "/healthz") + request("GET", "/readyz"))
        assert [(await connection.answer()).status for _ in range(2)] == [200, 200]

        async with aiohttp.ClientSession() as http:
            fault = {"mode": "slow", "delay_s": 0.8}
            assert (await http.post(wms.make_url("/_sandbox/faults"), json=fault)).status == 200
        await connection.send(call)
        slow = await connection.answer()
        assert slow.status == 200, slow.body
        async with aiohttp.ClientSession() as http:
            fault = {"mode": "ok"}
            assert (await http.post(wms.make_url("/_sandbox/faults"), json=fault)).status == 200

        async with aiohttp.ClientSession(f"http://{served.host}:{served.port}") as http:
            for _ in range(3):
                response = await http.post(STOCK_PATH, data=STOCK, headers=CALL_HEADERS)
                assert response.status == 200
