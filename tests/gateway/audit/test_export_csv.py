"""The CSV export survives hostile audit events: one physical line per record, no raw
control character in any cell, no cell a spreadsheet would run as a formula, and the
export still verifies.

The hostile text arrives the way an attacker sends it: operation names in the URL
(percent-encoded CR/LF, controls, formulas; unknown names are audited even for callers
without a key), tool names over MCP, and end-user names in ``X-On-Behalf-Of`` and in the
MCP ``_meta``. The export runs as ``lastmile audit export`` in a subprocess.
"""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import unicodedata
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from gateway.appkeys import AUDIT_STORE
from gateway.audit.export import CSV_COLUMNS
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.cli import main
from tests.conftest import INVENTORY, Gateway
from tests.gateway.audit.helpers import event, public_b64, signer
from tests.gateway.test_mcp_client import mcp_over_http
from tests.raw_http import exchange

STOCK = {"material": "100234", "plant": "1000"}
HOSTILE_NAMES = {  # operation name sent -> its readable cell in the export
    "warehouse.stock.get\r\nentry,99,forged": "warehouse.stock.get\\r\\nentry,99,forged",
    "=cmd|' /C calc'!A0": "'=cmd|' /C calc'!A0",
    "\t=1+1": "\\t=1+1",
    "\r=1+1": "\\r=1+1",
    "\n@SUM(A1)": "\\n@SUM(A1)",
    "+1+1": "'+1+1",
    "-2+3+cmd|' /C calc'!A0": "'-2+3+cmd|' /C calc'!A0",
    ' =HYPERLINK("http://x")': '\' =HYPERLINK("http://x")',
    "\uff1dcmd": "'\uff1dcmd",
    "x\x1b[31mred\x07": "x\\x1b[31mred\\x07",
    "\u202eexe.txt": "\\u202eexe.txt",
    "nel\x85ls\u2028ps\u2029del\x7f": "nel\\x85ls\\u2028ps\\u2029del\\x7f",
    "back\\nslash": "back\\\\nslash",
    "-5": "-5",  # a plain number stays a number
}
ANONYMOUS_NAME = "\r\n=cmd|'/C calc'!A0"
MCP_NAMES = {"evil\r\n=1+1": "evil\\r\\n=1+1", "\t@cmd": "\\t@cmd", "\u202e": "\\u202e"}
ON_BEHALF_OF = {  # X-On-Behalf-Of sent -> its cell ('' when refused: never recorded)
    "-2+3": "'-2+3",
    "@SUM": "'@SUM",
    "+cmd:/x": "'+cmd:/x",
    "=cmd|x": "",
}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
UNSAFE = {"Cc", "Cf", "Zl", "Zp"}


async def raw_call(gateway: Gateway, name: str, key: str | None, **headers: str) -> str:
    """POST an operation over a raw socket, as an attacker would: the name percent-encoded
    in the path, header values sent as latin-1 bytes (HTTP clients refuse controls in
    headers); the request id the gateway answered with."""
    body = json.dumps(STOCK).encode()
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    request = (
        f"POST /v1/operations/{quote(name, safe='')} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{head}\r\n"
    ).encode("latin-1") + body
    answer = await exchange(gateway.client.server, request)
    status = answer.split(b" ", 2)[1]
    assert status[:1] in (b"2", b"4"), (name, headers, answer.decode("latin-1"))
    found = re.search(rb"\r\nX-Request-Id: ([^\r]+)\r\n", answer, re.IGNORECASE)
    assert found is not None, answer[:300]
    return found.group(1).decode()


def unsafe_chars(text: str) -> list[str]:
    return [c for c in text if unicodedata.category(c) in UNSAFE]


def assert_safe_for_spreadsheets(rows: list[list[str]]) -> None:
    for row in rows:
        for cell in row:
            assert not unsafe_chars(cell), (cell, row)
            starts_formula = cell.lstrip().startswith(FORMULA_START)
            assert not starts_formula or NUMBER.fullmatch(cell), (cell, row)


async def make_hostile_trail(gateway: Gateway) -> dict[str, tuple[str, str, str]]:
    """Hostile calls over REST and MCP: request id -> (column, value sent, expected cell)."""
    calls: dict[str, tuple[str, str, str]] = {}
    for name, cell in HOSTILE_NAMES.items():
        calls[await raw_call(gateway, name, INVENTORY)] = ("operation", name, cell)
    anonymous = await raw_call(gateway, ANONYMOUS_NAME, None)
    calls[anonymous] = ("operation", ANONYMOUS_NAME, "\\r\\n=cmd|'/C calc'!A0")
    for user, cell in ON_BEHALF_OF.items():
        request_id = await raw_call(
            gateway, "warehouse.stock.get", INVENTORY, **{"X-On-Behalf-Of": user}
        )
        calls[request_id] = ("on_behalf_of", user, cell)
    async with mcp_over_http(gateway, INVENTORY, "auto") as client:
        for name, cell in MCP_NAMES.items():
            result = await client.call_tool(name, STOCK)
            calls[request_id_of(result)] = ("operation", name, cell)
        result = await client.call_tool(
            "warehouse.stock.get", STOCK, meta={"dev.lastmile/onBehalfOf": "-maria"}
        )
        calls[request_id_of(result)] = ("on_behalf_of", "-maria", "'-maria")
    return calls


def request_id_of(result: Any) -> str:
    return str(result.meta["dev.lastmile/requestId"])


def run_cli(*args: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(  # noqa: S603 - our own CLI, fixed arguments
        [sys.executable, "-m", "gateway", "audit", *args], capture_output=True, timeout=60
    )


async def test_hostile_text_leaves_one_safe_csv_line_per_event_and_still_verifies(
    gateway: Gateway, tmp_path: Path
) -> None:
    calls = await make_hostile_trail(gateway)
    events = await gateway.audit()
    store = gateway.client.app[AUDIT_STORE]
    await store.checkpoint()
    export = tmp_path / "audit.csv"
    done = run_cli("export", "--store", str(gateway.audit_db), "--format", "csv")
    assert done.returncode == 0, done.stderr
    export.write_bytes(done.stdout)
    text = done.stdout.decode("utf-8")

    lines = text.split("\n")
    assert lines[-1] == ""
    assert len(text.splitlines()) == len(lines) - 1  # not even NEL or U+2028 breaks a line
    rows = list(csv.reader(lines[:-1], strict=True))  # one physical line per record
    header, records = rows[0], rows[1:]
    assert all(len(row) == len(header) for row in records)
    entries = [dict(zip(header, row, strict=True)) for row in records if row[0] == "entry"]
    assert [row["request_id"] for row in entries] == [e.request_id for e in events]
    assert_safe_for_spreadsheets(rows)

    by_request = {row["request_id"]: row for row in entries}
    for request_id, (column, sent, cell) in calls.items():
        row = by_request[request_id]
        assert row[column] == cell, (sent, row)
        sealed = json.loads(row["json"])["event"][column]
        assert sealed == (sent if cell else None)  # the json column keeps the exact value
    assert by_request[next(iter(calls))]["outcome"] == "unknown_operation"

    verified = run_cli("verify", "--export", str(export), "--public-key", store.public_key_b64)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert verified.stdout.startswith(f"OK: entries 0..{len(events) - 1} ".encode())


async def test_a_large_event_survives_a_csv_round_trip(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key, path = signer(), tmp_path / "audit.sqlite"
    store = SqliteAuditStore(path, key, checkpoint_every_events=1)
    await store.open()
    await store.append(event(0).model_copy(update={"input": {"material": "9" * 300_000}}))
    await store.close()
    export = tmp_path / "audit.csv"
    assert (
        main(["audit", "export", "--store", str(path), "--format", "csv", "--out", str(export)])
        == 0
    )
    capsys.readouterr()
    assert main(["audit", "verify", "--export", str(export), "--public-key", public_b64(key)]) == 0
    assert capsys.readouterr().out.startswith("OK: entries 0..0 (1)")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("nested.jsonl", '{"type":' + "[" * 100_000 + "\n"),
        ("nested.csv", ",".join(CSV_COLUMNS) + "\nentry,0,,,,,,,,,,,x," + "[" * 100_000 + "\n"),
        ("nan.csv", ",".join(CSV_COLUMNS) + '\nentry,0,,,,,,,,,,,x,"{""a"":NaN}"\n'),
        ("short.csv", ",".join(CSV_COLUMNS) + "\nentry,0\n"),
        ("quote.csv", ",".join(CSV_COLUMNS) + '\nentry,"0\n'),
    ],
)
def test_a_hostile_export_file_is_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], name: str, text: str
) -> None:
    export = tmp_path / name
    export.write_text(text)
    assert main(["audit", "verify", "--export", str(export)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lastmile audit verify: line ")
    assert err.count("\n") == 1


async def test_every_readable_column_is_neutralised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Whatever a future face lets into an event, no readable cell carries it raw."""
    key, path = signer(), tmp_path / "audit.sqlite"
    store = SqliteAuditStore(path, key)
    await store.open()
    hostile = "\r\n=cmd|' /C calc'!A0\x00\x1b\u202e"
    text_fields = ("request_id", "agent_id", "agent_owner", "on_behalf_of", "operation", "outcome")
    await store.append(event(0).model_copy(update=dict.fromkeys(text_fields, hostile)))
    await store.append(event(1).model_copy(update=dict.fromkeys(text_fields, "@" + hostile)))
    await store.close()
    export = tmp_path / "audit.csv"
    assert (
        main(["audit", "export", "--store", str(path), "--format", "csv", "--out", str(export)])
        == 0
    )

    lines = export.read_text(encoding="utf-8").split("\n")
    rows = list(csv.reader(lines[:-1], strict=True))
    assert [row[0] for row in rows] == ["record", "entry", "entry", "checkpoint"]
    assert_safe_for_spreadsheets(rows)
    header, escaped = rows[0], "\\r\\n=cmd|' /C calc'!A0\\x00\\x1b\\u202e"
    for row, cell in zip(rows[1:3], [escaped, "'@" + escaped], strict=True):
        assert [row[header.index(field)] for field in text_fields] == [cell] * len(text_fields)
    capsys.readouterr()
    assert main(["audit", "verify", "--export", str(export), "--public-key", public_b64(key)]) == 0
