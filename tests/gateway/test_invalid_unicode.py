"""Text that is not Unicode is a precise 4xx on every face, never a 500.

Python decodes header bytes that are not UTF-8 to lone surrogates, and ``json`` decodes
the escape ``\\udc85`` to one; neither can be encoded again. Over HTTP the headers are
sent as raw bytes on a socket, as an attacker would (clients refuse to send them).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from tests.conftest import INVENTORY, Gateway
from tests.raw_http import exchange

BODY = b'{"material":"100234","plant":"1000"}'
AGENT = b"Authorization: Bearer " + INVENTORY.encode() + b"\r\n"


async def raw_post(gateway: Gateway, path: str, headers: bytes, body: bytes) -> tuple[int, Any]:
    """POST over a raw socket; the status and the JSON answer. ``Host`` names the port:
    /mcp answers loopback names on the port it serves only (DNS-rebinding guard)."""
    host = f"127.0.0.1:{gateway.client.server.port}"
    request = (
        (
            f"POST {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        ).encode()
        + headers
        + b"\r\n"
        + body
    )
    answer = await exchange(gateway.client.server, request)
    head, _, content = answer.partition(b"\r\n\r\n")
    status = re.match(rb"HTTP/1\.1 (\d{3}) ", head)
    assert status is not None, answer[:200]
    return int(status[1]), json.loads(content)


@pytest.mark.parametrize(
    ("headers", "status", "code"),
    [
        (AGENT + b"X-On-Behalf-Of: maria\xff\xfe\r\n", 422, "validation_failed"),
        (b"Authorization: Bearer \xff\xfe\r\n", 401, "unauthenticated"),
    ],
    ids=["on-behalf-of", "bearer-key"],
)
async def test_header_bytes_that_are_not_utf8_are_refused_and_audited(
    gateway: Gateway, headers: bytes, status: int, code: str
) -> None:
    answered, problem = await raw_post(gateway, "/v1/operations/warehouse.stock.get", headers, BODY)
    assert (answered, problem["code"]) == (status, code)
    [event] = await gateway.audit(request_id=problem["request_id"])
    assert (event.outcome, event.status, event.on_behalf_of) == (code, status, None)


@pytest.mark.parametrize(
    "params",
    [
        '{"name":"x\\udc85y","arguments":{}}',
        '{"name":"warehouse.stock.get","arguments":{"material":"1\\udc85","plant":"1000"}}',
        '{"name":"warehouse.stock.get","arguments":{"m\\ud800":"1"}}',
        '{"name":"warehouse.stock.get","arguments":{},'
        '"_meta":{"dev.lastmile/onBehalfOf":"\\udfff"}}',
    ],
    ids=["tool-name", "argument-value", "argument-name", "on-behalf-of"],
)
async def test_a_lone_surrogate_in_an_mcp_message_is_a_parse_error(
    gateway: Gateway, params: str
) -> None:
    body = f'{{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{params}}}'.encode()
    headers = AGENT + b"Accept: application/json, text/event-stream\r\n"
    status, answer = await raw_post(gateway, "/mcp", headers, body)
    assert (status, answer["error"]["code"]) == (400, -32700)
    assert await gateway.audit() == []


async def test_paired_surrogate_escapes_are_still_json(gateway: Gateway) -> None:
    """An emoji written as an escaped surrogate pair is valid JSON and reaches the call."""
    body = (
        b'{"jsonrpc":"2.0","id":1,"method":"tools/call","params":'
        b'{"name":"warehouse.stock.get","arguments":{"material":"\\ud83d\\ude00","plant":"1"},'
        b'"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",'
        b'"io.modelcontextprotocol/clientCapabilities":{}}}}'
    )
    headers = AGENT + (
        b"Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: 2026-07-28\r\n"
        b"Mcp-Method: tools/call\r\nMcp-Name: warehouse.stock.get\r\n"
    )
    status, answer = await raw_post(gateway, "/mcp", headers, body)
    assert status == 200, answer
    [event] = await gateway.audit()
    assert (event.outcome, event.input) == ("validation_failed", None)
    problem = answer["result"]["_meta"]["dev.lastmile/problem"]
    assert "\U0001f600" in json.dumps(problem, ensure_ascii=False)
