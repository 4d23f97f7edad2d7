"""The Streamable HTTP transport on the wire: authentication, protocol errors and sessions.

Raw HTTP, so that what a non-SDK client meets is pinned down: every protocol error is a
JSON-RPC error with the status the spec gives it (never a 500), and sessions of the
handshake era are bound to the agent that opened them.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import ClientResponse

from tests.conftest import INVENTORY, REPLENISH, Gateway

MODERN = "2026-07-28"
ACCEPT = "application/json, text/event-stream"


def envelope(version: str = MODERN) -> dict[str, Any]:
    return {
        "io.modelcontextprotocol/protocolVersion": version,
        "io.modelcontextprotocol/clientCapabilities": {},
    }


async def post(
    gateway: Gateway, body: Any, key: str | None = INVENTORY, **headers: str
) -> ClientResponse:
    headers.setdefault("Accept", ACCEPT)
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return await gateway.client.post("/mcp", json=body, headers=headers)


async def modern(
    gateway: Gateway, method: str, params: dict[str, Any] | None = None, **headers: str
) -> ClientResponse:
    params = {**(params or {}), "_meta": envelope()}
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": method, **headers}
    if method == "tools/call":
        headers.setdefault("Mcp-Name", params["name"])
    return await post(
        gateway, {"jsonrpc": "2.0", "id": 7, "method": method, "params": params}, **headers
    )


async def initialize(gateway: Gateway, version: str = "2025-11-25", key: str = INVENTORY) -> str:
    response = await post(
        gateway,
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": version,
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        key=key,
    )
    assert response.status == 200
    return response.headers["Mcp-Session-Id"]


async def rpc_error(response: ClientResponse, status: int, code: int) -> dict[str, Any]:
    assert response.status == status, await response.text()
    body = await response.json()
    assert body["jsonrpc"] == "2.0"
    assert body["error"]["code"] == code, body
    return dict(body)


async def test_an_unauthenticated_request_gets_401_with_a_challenge(gateway: Gateway) -> None:
    response = await post(gateway, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, key=None)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    assert (await response.json())["code"] == "unauthenticated"
    revoked = await gateway.client.get("/mcp", headers={"Authorization": "Bearer nope"})
    assert revoked.status == 401


async def test_bad_json_is_a_parse_error(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/mcp",
        data=b'{"jsonrpc": "2.0", "id": 1,',
        headers={"Authorization": f"Bearer {INVENTORY}", "Content-Type": "application/json"},
    )
    body = await rpc_error(response, 400, -32700)
    assert body["id"] is None


@pytest.mark.parametrize(
    "body",
    [
        [{"jsonrpc": "2.0", "id": 1, "method": "ping"}],
        {"jsonrpc": "1.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "id": 1, "method": 5},
        "ping",
        {"jsonrpc": "2.0", "params": {}},
    ],
    ids=["batch", "wrong-version", "method-not-a-string", "not-an-object", "no-id-no-method"],
)
async def test_what_is_not_one_request_is_an_invalid_request(gateway: Gateway, body: Any) -> None:
    await rpc_error(await post(gateway, body), 400, -32600)


async def test_an_unknown_method_is_method_not_found(gateway: Gateway) -> None:
    body = await rpc_error(await modern(gateway, "resources/list"), 404, -32601)
    assert body["id"] == 7
    session = await initialize(gateway)
    legacy = await post(
        gateway,
        {"jsonrpc": "2.0", "id": 3, "method": "prompts/list"},
        **{"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"},
    )
    await rpc_error(legacy, 200, -32601)  # in a session, 404 would mean "session gone"


async def test_an_unknown_protocol_version_is_refused_naming_ours(gateway: Gateway) -> None:
    response = await post(
        gateway,
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        **{"MCP-Protocol-Version": "1999-01-01"},
    )
    body = await rpc_error(response, 400, -32022)
    assert body["error"]["data"]["requested"] == "1999-01-01"
    assert MODERN in body["error"]["data"]["supported"]
    future = await post(
        gateway,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/list",
            "params": {"_meta": envelope("2099-01-01")},
        },
        **{"MCP-Protocol-Version": "2099-01-01", "Mcp-Method": "tools/list"},
    )
    await rpc_error(future, 400, -32022)


async def test_initialize_negotiates_a_version_we_speak(gateway: Gateway) -> None:
    for offered, answered in [("2025-06-18", "2025-06-18"), ("2024-11-05", "2025-11-25")]:
        response = await post(
            gateway,
            {
                "jsonrpc": "2.0",
                "id": 1,
                "method": "initialize",
                "params": {"protocolVersion": offered},
            },
        )
        result = (await response.json())["result"]
        assert result["protocolVersion"] == answered
        assert result["capabilities"] == {"tools": {"listChanged": False}}
        assert result["serverInfo"]["name"] == "lastmile"


async def test_headers_that_disagree_with_the_body_are_a_mismatch(gateway: Gateway) -> None:
    await rpc_error(await modern(gateway, "tools/list", **{"Mcp-Method": "ping"}), 400, -32020)
    call = await modern(
        gateway,
        "tools/call",
        {"name": "warehouse.stock.get", "arguments": {}},
        **{"Mcp-Name": "warehouse.items.get"},
    )
    await rpc_error(call, 400, -32020)
    no_header = await post(
        gateway,
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope()}},
    )
    await rpc_error(no_header, 400, -32020)


async def test_a_modern_request_without_its_envelope_is_invalid_params(gateway: Gateway) -> None:
    response = await post(
        gateway,
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        **{"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/list"},
    )
    body = await rpc_error(response, 400, -32602)
    assert "_meta" in body["error"]["message"]


async def test_modern_requests_need_no_session(gateway: Gateway) -> None:
    response = await modern(gateway, "tools/list")
    assert response.status == 200
    assert "Mcp-Session-Id" not in response.headers
    result = (await response.json())["result"]
    assert [t["name"] for t in result["tools"]] == ["warehouse_items_get", "warehouse_stock_get"]
    assert (result["resultType"], result["cacheScope"]) == ("complete", "private")
    discover = (await (await modern(gateway, "server/discover")).json())["result"]
    assert MODERN in discover["supportedVersions"]
    assert "2025-11-25" in discover["supportedVersions"]


async def test_a_handshake_era_request_without_a_session_is_told_how_to_get_one(
    gateway: Gateway,
) -> None:
    response = await post(
        gateway,
        {"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        **{"MCP-Protocol-Version": "2025-11-25"},
    )
    body = await rpc_error(response, 400, -32600)
    assert "Send initialize first" in body["error"]["message"]
    assert MODERN in body["error"]["message"]


async def test_sessions_belong_to_their_agent_and_end_on_delete(gateway: Gateway) -> None:
    session = await initialize(gateway)
    headers = {"Mcp-Session-Id": session, "MCP-Protocol-Version": "2025-11-25"}
    note = await post(gateway, {"jsonrpc": "2.0", "method": "notifications/initialized"}, **headers)
    assert note.status == 202
    listed = await post(gateway, {"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, **headers)
    assert listed.status == 200
    assert len((await listed.json())["result"]["tools"]) == 2

    stolen = await post(
        gateway, {"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, key=REPLENISH, **headers
    )
    await rpc_error(stolen, 404, -32600)
    other_revision = await post(
        gateway,
        {"jsonrpc": "2.0", "id": 4, "method": "ping"},
        **{**headers, "MCP-Protocol-Version": "2025-06-18"},
    )
    assert other_revision.status == 200, "a supported revision is served within a session"
    unsupported = await post(
        gateway,
        {"jsonrpc": "2.0", "id": 4, "method": "ping"},
        **{**headers, "MCP-Protocol-Version": "2024-11-05"},
    )
    await rpc_error(unsupported, 400, -32022)

    auth = {"Authorization": f"Bearer {INVENTORY}"}
    deleted = await gateway.client.delete("/mcp", headers={**auth, **headers})
    assert deleted.status == 204
    gone = await post(gateway, {"jsonrpc": "2.0", "id": 5, "method": "ping"}, **headers)
    await rpc_error(gone, 404, -32600)
    again = await gateway.client.delete("/mcp", headers={**auth, **headers})
    assert again.status == 404


async def test_get_offers_no_stream(gateway: Gateway) -> None:
    response = await gateway.client.get(
        "/mcp", headers={"Authorization": f"Bearer {INVENTORY}", "Accept": "text/event-stream"}
    )
    assert response.status == 405
    assert response.headers["Allow"] == "POST, DELETE"


async def test_notifications_and_responses_are_accepted(gateway: Gateway) -> None:
    for body in [
        {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 1}},
        {"jsonrpc": "2.0", "id": 9, "result": {}},
    ]:
        response = await post(gateway, body)
        assert response.status == 202
        assert await response.read() == b""


async def test_transport_rejections_are_problems(gateway: Gateway) -> None:
    auth = {"Authorization": f"Bearer {INVENTORY}"}
    text = await gateway.client.post(
        "/mcp", data="ping", headers={**auth, "Content-Type": "text/plain"}
    )
    assert text.status == 415
    html = await post(gateway, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, Accept="text/html")
    assert html.status == 406


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ({"name": "warehouse.stock.get", "arguments": [1]}, "arguments"),
        ({"name": "", "arguments": {}}, "name"),
    ],
    ids=["arguments-not-an-object", "empty-name"],
)
async def test_malformed_tool_calls_are_invalid_params(
    gateway: Gateway, params: dict[str, Any], fragment: str
) -> None:
    meta = params.pop("_meta", envelope())
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {**params, "_meta": meta}}
    headers = {
        "MCP-Protocol-Version": MODERN,
        "Mcp-Method": "tools/call",
        "Mcp-Name": params["name"],
    }
    response = await rpc_error(await post(gateway, body, **headers), 400, -32602)
    assert fragment in response["error"]["message"]
    assert await gateway.audit() == []


@pytest.mark.parametrize(
    ("option", "value", "field"),
    [
        ("dev.lastmile/dryRun", "yes", "_meta.dev.lastmile/dryRun"),
        ("dev.lastmile/onBehalfOf", "a b", "on_behalf_of"),
        ("dev.lastmile/onBehalfOf", "lea\n", "on_behalf_of"),
        ("dev.lastmile/onBehalfOf", 7, "_meta.dev.lastmile/onBehalfOf"),
    ],
    ids=["dry-run-not-a-bool", "bad-on-behalf-of", "on-behalf-of-trailing-newline", "not-text"],
)
async def test_malformed_call_options_are_refused_as_tool_errors_and_audited(
    gateway: Gateway, option: str, value: object, field: str
) -> None:
    """The same rule as REST: the pipeline refuses bad options once it knows the caller,
    so the refusal is in the trail, not only in the answer."""
    params = {
        "name": "warehouse.stock.get",
        "arguments": {"material": "100234", "plant": "1000"},
        "_meta": {**envelope(), option: value},
    }
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call"}
    body = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": params}
    response = await post(gateway, body, **headers, **{"Mcp-Name": "warehouse.stock.get"})
    result = (await response.json())["result"]
    assert result["isError"] is True
    problem = result["_meta"]["dev.lastmile/problem"]
    assert problem["code"] == "validation_failed"
    assert [e["field"] for e in problem["errors"]] == [field]
    [event] = await gateway.audit()
    assert (event.protocol, event.outcome, event.on_behalf_of) == ("mcp", "validation_failed", None)


async def test_an_idempotency_key_with_a_trailing_newline_is_refused_and_audited(
    gateway: Gateway,
) -> None:
    params = {
        "name": "warehouse.goods_movements.create",
        "arguments": {
            "material": "100234",
            "plant": "1000",
            "kind": "receipt",
            "quantity": "5",
            "posting_date": "2026-11-26",
        },
        "_meta": {**envelope(), "dev.lastmile/idempotencyKey": "order-1\n"},
    }
    headers = {"MCP-Protocol-Version": MODERN, "Mcp-Method": "tools/call"}
    body = {"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": params}
    response = await post(
        gateway, body, REPLENISH, **headers, **{"Mcp-Name": "warehouse.goods_movements.create"}
    )
    result = (await response.json())["result"]
    assert result["_meta"]["dev.lastmile/problem"]["code"] == "idempotency_key_invalid"
    assert await gateway.wms_calls() == 0
    [event] = await gateway.audit()
    assert event.outcome == "idempotency_key_invalid"


async def test_an_unknown_tool_is_a_tool_error_and_audited(gateway: Gateway) -> None:
    response = await modern(
        gateway, "tools/call", {"name": "warehouse.stock.delete", "arguments": {}}
    )
    result = (await response.json())["result"]
    assert result["isError"] is True
    assert "(unknown_operation)" in result["content"][0]["text"]
    [event] = await gateway.audit()
    assert (event.protocol, event.outcome) == ("mcp", "unknown_operation")


async def test_an_oversized_message_is_refused_before_it_is_parsed(gateway: Gateway) -> None:
    arguments = {"material": "x" * 5000}
    response = await modern(
        gateway, "tools/call", {"name": "warehouse.items.get", "arguments": arguments}
    )
    assert response.status == 413
    assert (await response.json())["code"] == "payload_too_large"
    assert await gateway.audit() == []


async def test_a_routing_header_given_twice_is_a_mismatch(gateway: Gateway) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {"_meta": envelope()}}
    response = await gateway.client.post(
        "/mcp",
        json=body,
        headers=[
            ("Authorization", f"Bearer {INVENTORY}"),
            ("MCP-Protocol-Version", MODERN),
            ("Mcp-Method", "tools/list"),
            ("Mcp-Method", "tools/call"),
        ],
    )
    await rpc_error(response, 400, -32020)


async def test_a_notification_at_a_version_we_do_not_speak_is_refused(gateway: Gateway) -> None:
    response = await post(
        gateway,
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        **{"MCP-Protocol-Version": "1999-01-01"},
    )
    await rpc_error(response, 400, -32022)
