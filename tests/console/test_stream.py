"""The live stream picks up where the page ended: a call that completed after the page
was read, before the browser opened its stream, is sent first; so are the calls a
reconnecting browser missed (``Last-Event-ID``). A malformed resume point is refused (422)."""

from __future__ import annotations

import asyncio
import re

from tests.conftest import INVENTORY, OPERATOR
from tests.console.conftest import Console, next_call_row, post_sign_in

STOCK = {"material": "100234", "plant": "1000"}
WITHIN_S = 10.0  # a bound against hanging, not a measurement


async def a_call(console: Console) -> str:
    response = await console.api("POST", "/v1/operations/warehouse.stock.get", INVENTORY, STOCK)
    assert response.status == 200
    return response.headers["X-Request-Id"]


async def test_a_call_completed_between_the_page_and_its_stream_is_streamed_first(
    console: Console,
) -> None:
    listed = await a_call(console)
    assert (await post_sign_in(console.client, "/console/sign-in", OPERATOR)).status == 303
    html = await (await console.client.get("/console/now")).text()
    assert f'data-request-id="{listed}"' in html
    found = re.search(r'sse-connect="(/console/now/stream\?after=\d+)"', html)
    assert found is not None

    missed = await a_call(console)  # the page has been read; the stream is not open yet
    stream = await console.client.get(found.group(1))
    try:
        assert await stream.content.readline() == b": connected\n"
        first = await asyncio.wait_for(next_call_row(stream), WITHIN_S)
        later = await a_call(console)
        second = await asyncio.wait_for(next_call_row(stream), WITHIN_S)
    finally:
        stream.close()

    assert f'data-request-id="{missed}"' in first  # and the listed call is not sent again
    assert f'data-request-id="{later}"' in second


async def test_a_reconnecting_browser_gets_the_calls_after_its_last_event(
    console: Console,
) -> None:
    calls = [await a_call(console) for _ in range(2)]
    assert (await post_sign_in(console.client, "/console/sign-in", OPERATOR)).status == 303

    stream = await console.client.get("/console/now/stream", headers={"Last-Event-ID": "-1"})
    try:
        assert await stream.content.readline() == b": connected\n"
        rows = [await asyncio.wait_for(next_call_row(stream), WITHIN_S) for _ in calls]
    finally:
        stream.close()

    for row, request_id in zip(rows, calls, strict=True):
        assert f'data-request-id="{request_id}"' in row


async def test_a_malformed_resume_point_is_refused(console: Console) -> None:
    assert (await post_sign_in(console.client, "/console/sign-in", OPERATOR)).status == 303

    for path, headers in (
        ("/console/now/stream?after=abc", {}),
        ("/console/now/stream?after=-2", {}),
        ("/console/now/stream", {"Last-Event-ID": "9" * 40}),
    ):
        response = await console.client.get(path, headers=headers)
        assert response.status == 422, path
        assert "text/html" in response.headers["Content-Type"]
