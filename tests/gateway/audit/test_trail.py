"""What the trail shows people and pipelines: escaped text, no secrets, one JSON line
per event on stdout, and one call's whole story."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.appkeys import AUDIT_STORE
from gateway.audit.admin import record_admin_action
from gateway.audit.render import line, safe, story
from gateway.cli import main
from gateway.config import parse_config
from tests.conftest import REPLENISH, TEST_CONFIG, Gateway

STOCK = {"material": "100234", "plant": "1000"}
HOSTILE = "\x1b[2J\r\nFORGED\x07"  # clear screen, a new line, a bell: 16 characters at most
MOVEMENT = {
    "material": "100234",
    "plant": "1000",
    "kind": "receipt",
    "quantity": "5",
    "posting_date": date.today().isoformat(),
    "reference": HOSTILE,
}


def test_safe_escapes_line_breaks_controls_and_bidi_overrides() -> None:
    assert safe("a\r\nb") == "a\\r\\nb"
    assert safe("\x1b[31mred\x1b[0m") == "\\x1b[31mred\\x1b[0m"
    assert safe("\x9b2J \x7f") == "\\x9b2J \\x7f"  # C1 CSI and DEL
    assert safe("evil\u202etxt.exe \u2028next") == "evil\\u202etxt.exe \\u2028next"
    assert safe("back\\slash") == "back\\\\slash"  # escapes stay unambiguous
    assert safe("Grüße 💶") == "Grüße 💶"


async def test_show_tells_one_calls_story_with_hostile_text_escaped(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    response = await gateway.invoke(
        "warehouse.goods_movements.create",
        MOVEMENT,
        key=REPLENISH,
        **{"X-On-Behalf-Of": "maria.schmidt@acme.example"},
    )
    assert response.status == 200
    request_id = response.headers["X-Request-Id"]
    document = (await response.json())["output"]["document_number"]

    capsys.readouterr()
    assert main(["audit", "show", request_id, "--store", str(gateway.audit_db)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\r" not in out
    assert "\x07" not in out
    assert not any(row.startswith("FORGED") for row in out.splitlines())
    assert '"reference": "\\x1b[2J\\r\\nFORGED\\x07"' not in out  # JSON escapes, then safe()
    assert "\\\\u001b[2J\\\\r\\\\nFORGED\\\\u0007" in out
    for fact in (
        f"request     {request_id}",
        "who         agent replenishment-bot (accountable owner ops-planning) over rest",
        "for         maria.schmidt@acme.example",
        "operation   warehouse.goods_movements.create on acme_wms (write)",
        "decision    allow",
        "outcome     ok (HTTP 200)",
    ):
        assert fact in out
    assert document  # the backend's document number is in the answer the agent got


def test_story_renders_approval_attempts_and_backend_detail_safely() -> None:
    event = {
        "event_id": "e1",
        "kind": "call",
        "time": "2026-11-26T09:00:00Z",
        "request_id": "req_1",
        "protocol": "rest",
        "agent_id": "replenishment-bot",
        "agent_owner": "ops-planning",
        "operation": "finance.payments.create",
        "backend": "acme_fin",
        "effect": "write",
        "decision": "approval_required",
        "policy_ids": ["payments-over-10k"],
        "reasons": ["amount 25000 EUR exceeds 10000 EUR"],
        "approval": {
            "approval_id": "apr_1",
            "status": "approved",
            "approver": "maria.schmidt",
            "reason": "quarter-end run\r\nAPPROVED BY CFO",
            "decided_at": "2026-11-26T09:05:00Z",
        },
        "attempts": [
            {"number": 1, "duration_ms": 30.0, "error_code": "timeout", "detail": None},
            {"number": 2, "duration_ms": 12.5, "error_code": None, "detail": None},
        ],
        "outcome": "backend_rejected",
        "status": 422,
        "detail": "The backend said: \x1b]0;pwned\x07 duplicate\ninvoice",
        "backend_reference": "4900000007",
        "gateway_ms": 2.0,
        "backend_ms": 42.5,
    }
    text = "\n".join(story([{"index": 7, "leaf_hash": "ab" * 32, "event": event}]))
    assert "\x1b" not in text
    assert "approval    approved (apr_1) by maria.schmidt at 2026-11-26T09:05:00Z: " in text
    assert "quarter-end run\\r\\nAPPROVED BY CFO" in text
    assert "policies: payments-over-10k  reasons: amount 25000 EUR exceeds 10000 EUR" in text
    assert "attempts    #1 30.0 ms timeout; #2 12.5 ms ok" in text
    assert "detail      The backend said: \\x1b]0;pwned\\x07 duplicate\\ninvoice" in text
    assert "reference   4900000007" in text
    assert "\\n" in line({"index": 7, "event": {**event, "on_behalf_of": "x\ny"}})


async def test_tail_and_search_print_one_line_per_event(
    gateway: Gateway, capsys: pytest.CaptureFixture[str]
) -> None:
    await gateway.invoke("warehouse.stock.get", STOCK)
    await gateway.invoke("warehouse.goods_movements.create", MOVEMENT, key=REPLENISH)
    capsys.readouterr()
    assert main(["audit", "tail", "--store", str(gateway.audit_db), "-n", "5"]) == 0
    rows = capsys.readouterr().out.splitlines()
    assert len(rows) == 2
    assert "inventory-bot" in rows[0]
    store = str(gateway.audit_db)
    assert main(["audit", "search", "--store", store, "--agent", "replenishment-bot"]) == 0
    [row] = capsys.readouterr().out.splitlines()
    assert "warehouse.goods_movements.create" in row


async def test_every_event_is_shipped_as_one_json_line(gateway: Gateway, log_lines: Any) -> None:
    response = await gateway.invoke("warehouse.stock.get", STOCK)
    await record_admin_action(
        gateway.client.app[AUDIT_STORE],
        request_id="adm_1",
        actor="ops-oncall",
        action="halt",
        target="agent:inventory-bot",
    )
    [call] = [row for row in log_lines() if row["event"] == "call"]
    [admin] = [row for row in log_lines() if row["event"] == "admin"]
    [stored] = await gateway.audit(request_id=response.headers["X-Request-Id"])
    assert call["index"] == 0
    assert call["request_id"] == stored.request_id
    assert call["event_id"] == stored.event_id
    assert call["input"] == STOCK
    assert call["decision"] == "allow"
    assert len(call["leaf_hash"]) == 64
    assert (admin["index"], admin["actor"], admin["action"]) == (1, "ops-oncall", "halt")


async def test_secrets_never_enter_the_trail(
    wms: TestServer, tmp_path: Path, log_lines: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    token = "tok-7f3a9c-never-log-me"
    wrong_key = "lm_wrong_key_guess_0042"
    text = TEST_CONFIG.replace(
        "    max_response_bytes: 65536\n",
        '    max_response_bytes: 65536\n    auth: {type: bearer, token: "${WMS_TOKEN}"}\n',
    )
    audit_db = tmp_path / "audit.sqlite"
    env = {"WMS_URL": str(wms.make_url("/")).rstrip("/"), "AUDIT_DB": str(audit_db)}
    config = parse_config(text, "test.yaml", env={**env, "WMS_TOKEN": token})
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(config), host="127.0.0.1"))
    await client.start_server()
    try:
        for key in (REPLENISH, wrong_key):
            await client.post(
                "/v1/operations/warehouse.stock.get",
                json=STOCK,
                headers={"Authorization": f"Bearer {key}"},
            )
    finally:
        await client.close()
    stored, raw, exported = read_trail(tmp_path, audit_db)
    shipped = str(log_lines()) + capsys.readouterr().out
    for secret in (token, wrong_key, REPLENISH):
        assert secret not in stored
        assert secret.encode() not in raw
        assert secret not in exported
        assert secret not in shipped
    assert stored.count('"event_id"') == 2


def read_trail(tmp_path: Path, audit_db: Path) -> tuple[str, bytes, str]:
    """The entries, the raw store files (WAL included) and an export."""
    export = tmp_path / "audit.jsonl"
    assert main(["audit", "export", "--store", str(audit_db), "--out", str(export)]) == 0
    with sqlite3.connect(audit_db) as db:
        stored = "\n".join(entry for (entry,) in db.execute("SELECT entry FROM audit_events"))
    raw = b"".join(p.read_bytes() for p in tmp_path.glob("audit.sqlite*"))
    return stored, raw, export.read_text()
