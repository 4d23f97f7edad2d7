"""The auditors' REST API: read-only, auditor role only, filtered, stable pages."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from gateway.appkeys import AUDIT_STORE
from gateway.audit.proofcheck import check_proof
from tests.conftest import APPROVER, AUDITOR, INVENTORY, OPERATOR, REPLENISH, Gateway

STOCK = {"material": "100234", "plant": "1000"}


async def get(gateway: Gateway, path: str, key: str = AUDITOR, **params: str) -> Any:
    return await gateway.client.get(path, params=params, headers={"Authorization": f"Bearer {key}"})


@pytest.mark.parametrize("path", ["/v1/audit/events", "/v1/audit/checkpoint"])
async def test_only_auditors_get_in(gateway: Gateway, path: str) -> None:
    assert (await gateway.client.get(path)).status == 401
    agent = await get(gateway, path, INVENTORY)
    assert agent.status == 401  # agent keys are not staff keys
    assert (await agent.json())["code"] == "unauthenticated"
    for key in (APPROVER, OPERATOR):
        refused = await get(gateway, path, key)
        assert refused.status == 403
        assert (await refused.json())["code"] == "forbidden"
    assert (await get(gateway, path)).status == 200


async def test_auditors_cannot_call_operations_or_write(gateway: Gateway) -> None:
    call = await gateway.invoke("warehouse.stock.get", STOCK, key=AUDITOR)
    assert call.status == 401
    write = await gateway.client.post(
        "/v1/audit/events", json={}, headers={"Authorization": f"Bearer {AUDITOR}"}
    )
    assert write.status == 405


async def test_filters_by_agent_owner_operation_decision_outcome_and_request(
    gateway: Gateway,
) -> None:
    read = await gateway.invoke("warehouse.stock.get", STOCK)
    denied = await gateway.invoke("warehouse.goods_movements.create", {}, key=INVENTORY)
    other = await gateway.invoke("warehouse.stock.get", STOCK, key=REPLENISH)
    ids = [r.headers["X-Request-Id"] for r in (read, denied, other)]

    async def request_ids(**params: str) -> list[str]:
        response = await get(gateway, "/v1/audit/events", **params)
        assert response.status == 200
        return [e["event"]["request_id"] for e in (await response.json())["events"]]

    assert await request_ids() == ids
    assert await request_ids(agent="inventory-bot") == ids[:2]
    assert await request_ids(owner="ops-planning") == ids[2:]
    assert await request_ids(operation="warehouse.goods_movements.create") == ids[1:2]
    assert await request_ids(outcome="forbidden") == ids[1:2]
    assert await request_ids(decision="allow") == [ids[0], ids[2]]
    assert await request_ids(request_id=ids[2]) == ids[2:]
    assert await request_ids(since="2000-01-01T00:00:00Z", until="2000-01-02T00:00:00") == []
    assert await request_ids(since="2000-01-01T00:00:00+00:00") == ids
    assert await request_ids(order="desc") == ids[::-1]


async def test_pages_stay_stable_while_calls_are_appended(gateway: Gateway) -> None:
    first_calls = [await gateway.invoke("warehouse.stock.get", STOCK) for _ in range(5)]
    page = await (await get(gateway, "/v1/audit/events", limit="3")).json()
    assert len(page["events"]) == 3
    later_calls = [await gateway.invoke("warehouse.stock.get", STOCK) for _ in range(4)]

    seen = [e["event"]["request_id"] for e in page["events"]]
    cursor = page["next_cursor"]
    while cursor:
        page = await (await get(gateway, "/v1/audit/events", limit="3", cursor=cursor)).json()
        seen += [e["event"]["request_id"] for e in page["events"]]
        cursor = page["next_cursor"]
    assert seen == [r.headers["X-Request-Id"] for r in first_calls + later_calls]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"cursor": "not-a-cursor"}, "query:cursor"),
        ({"limit": "0"}, "query:limit"),
        ({"limit": "many"}, "query:limit"),
        ({"since": "yesterday"}, "query:since"),
        ({"order": "sideways"}, "query:order"),
        ({"agent_id": "x"}, "query:agent_id"),
    ],
)
async def test_bad_queries_get_precise_problems(
    gateway: Gateway, params: dict[str, str], field: str
) -> None:
    response = await get(gateway, "/v1/audit/events", **params)
    assert response.status == 422
    body = await response.json()
    assert body["code"] == "validation_failed"
    assert body["errors"][0]["field"] == field


def b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


HOSTILE_CURSORS = {
    "not base64": "not a cursor!",
    "bad padding": "A",
    "controls": "\x00\x1b[2J",
    "non-JSON": b64(b"not json"),
    "invalid UTF-8": b64(b"\xff\xfe\xfd"),
    "a JSON list": b64(b"[1, 2]"),
    "a JSON string": b64(b'"after"'),
    "a missing key": b64(b'{"after": 1}'),
    "nested, short": b64(b"[" * 140),
    "nested, deep": b64(b"[" * 5000),  # was a RecursionError: 500
    "huge": "A" * 8000,
}


@pytest.mark.parametrize("cursor", HOSTILE_CURSORS.values(), ids=HOSTILE_CURSORS.keys())
async def test_a_hostile_cursor_is_a_precise_problem(gateway: Gateway, cursor: str) -> None:
    response = await get(gateway, "/v1/audit/events", cursor=cursor)
    assert response.status == 422
    body = await response.json()
    assert (body["code"], body["errors"][0]["field"]) == ("validation_failed", "query:cursor")
    assert "not a cursor this API issued" in body["detail"]
    assert len(body["errors"][0]["received"]) <= 100


@pytest.mark.parametrize("after", [True, -1, 2**63, 2**200, 1.5, "3", None, [1]])
async def test_a_forged_cursor_for_the_same_query_is_a_precise_problem(
    gateway: Gateway, after: object
) -> None:
    for _ in range(2):
        await gateway.invoke("warehouse.stock.get", STOCK)
    page = await (await get(gateway, "/v1/audit/events", limit="1")).json()
    issued = json.loads(base64.urlsafe_b64decode(page["next_cursor"] + "=="))
    forged = b64(json.dumps({"after": after, "query": issued["query"]}).encode())
    response = await get(gateway, "/v1/audit/events", limit="1", cursor=forged)
    assert response.status == 422
    assert (await response.json())["errors"][0]["field"] == "query:cursor"


async def test_a_cursor_longer_than_a_request_line_is_refused_by_the_server(
    gateway: Gateway,
) -> None:
    response = await get(gateway, "/v1/audit/events", cursor=b64(b"[" * 100_000))
    assert 400 <= response.status < 500


async def test_a_cursor_only_continues_its_own_query(gateway: Gateway) -> None:
    for _ in range(3):
        await gateway.invoke("warehouse.stock.get", STOCK)
    page = await (await get(gateway, "/v1/audit/events", limit="1")).json()
    other = await get(gateway, "/v1/audit/events", limit="1", agent="x", cursor=page["next_cursor"])
    assert other.status == 422
    assert "different query" in (await other.json())["detail"]


async def test_checkpoint_and_proof_for_auditors(gateway: Gateway) -> None:
    response = await gateway.invoke("warehouse.stock.get", STOCK)
    request_id = response.headers["X-Request-Id"]
    early = await get(gateway, f"/v1/audit/requests/{request_id}/proof")
    assert early.status == 404  # no checkpoint covers it yet
    await gateway.client.app[AUDIT_STORE].checkpoint()

    published = await (await get(gateway, "/v1/audit/checkpoint")).json()
    assert published["checkpoint"]["tree_size"] == 1
    proof = await (await get(gateway, f"/v1/audit/requests/{request_id}/proof")).json()
    key = base64.b64decode(published["public_key"])
    assert "entry 0" in check_proof(proof, [key])


async def test_auditors_get_a_consistency_proof_between_checkpoints(gateway: Gateway) -> None:
    store = gateway.client.app[AUDIT_STORE]
    await gateway.invoke("warehouse.stock.get", STOCK)
    first = await store.checkpoint()
    for _ in range(3):
        await gateway.invoke("warehouse.stock.get", STOCK)
    await store.checkpoint()
    published = await (await get(gateway, "/v1/audit/checkpoint")).json()

    response = await get(gateway, "/v1/audit/consistency", first=str(first["tree_size"]))
    assert response.status == 200
    proof = await response.json()
    key = base64.b64decode(published["public_key"])
    assert "the checkpoint at size 4 extends the one at size 1" in check_proof(proof, [key])

    missing = await get(gateway, "/v1/audit/consistency", first="2")
    assert missing.status == 404
    assert "no signed checkpoint at size 2" in (await missing.json())["detail"]
    bad = await get(gateway, "/v1/audit/consistency", first="two")
    assert (bad.status, (await bad.json())["errors"][0]["field"]) == (422, "query:first")
