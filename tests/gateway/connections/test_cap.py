"""Beyond max_open, a new connection is answered 503 overloaded and closed, while the
connections already open carry on; once one closes, new connections are taken again."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from tests.gateway.connections.served import (
    CALL_HEADERS,
    STOCK,
    STOCK_PATH,
    Answer,
    assert_closing_problem,
    parse_answer,
    request,
    serve,
)

HEALTH = request("GET", "/healthz")


def assert_overloaded(answer: Answer) -> None:
    assert_closing_problem(answer, 503, "overloaded")
    assert answer.headers["retry-after"] == "1"


async def test_at_the_cap_new_connections_get_503_and_open_ones_still_work(
    wms: TestServer, tmp_path: Path
) -> None:
    async with serve(wms, tmp_path, "{header_s: 30, idle_s: 30, max_open: 2}") as served:
        first = await served.connect()
        await first.send(HEALTH)
        assert (await first.answer()).status == 200
        second = await served.connect()  # silent: held open by the 30 s deadlines

        refused = await served.connect()
        await refused.send(HEALTH)  # as clients do: ask at once
        assert_overloaded(parse_answer(await refused.until_closed()))

        await first.send(request("POST", STOCK_PATH, STOCK, CALL_HEADERS))
        assert (await first.answer()).status == 200  # a call on an open connection
        await second.send(HEALTH)
        assert (await second.answer()).status == 200  # the silent one was held all along


async def test_once_an_idle_connection_is_closed_its_place_is_taken_again(
    wms: TestServer, tmp_path: Path
) -> None:
    connections = "{header_s: 30, idle_s: 0.3, max_open: 1}"
    async with (
        serve(wms, tmp_path, connections, backend_total_s=30) as served,
        aiohttp.ClientSession(wms.make_url("/")) as sandbox,
    ):
        await sandbox.post("/_sandbox/faults", json={"mode": "hold"})
        busy = await served.connect()
        await busy.send(request("POST", STOCK_PATH, STOCK, CALL_HEADERS))
        assert (await sandbox.get("/_sandbox/wait_held", params={"count": 1})).status == 200

        refused = await served.connect()
        assert_overloaded(parse_answer(await refused.until_closed()))

        await sandbox.post("/_sandbox/release")
        assert (await busy.answer()).status == 200
        assert await busy.until_closed() == b""  # idle for idle_s after its answer

        again = await served.connect()
        await again.send(HEALTH)
        assert (await again.answer()).status == 200
