"""``lastmile audit`` and the auditors' REST face on the PostgreSQL log, and the copy of
a SQLite trail into it (``lastmile audit migrate``), against the real server."""

from __future__ import annotations

import asyncio
import base64
import json
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.appkeys import AUDIT_STORE
from gateway.audit.proofcheck import check_proof
from gateway.audit.retention import prune
from gateway.audit.signing import CheckpointSigner
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.cli import main
from gateway.config import parse_config
from tests.conftest import AUDITOR, INVENTORY, TEST_CONFIG
from tests.gateway.audit.helpers import T0, build_log, event, public_b64, signer
from tests.gateway.audit.postgres_helpers import pg_store, postgres
from tests.postgres_db import postgres_dsn

__all__ = ["postgres_dsn"]

POSTGRES_AUDIT = """audit:
  store: postgres
  path: ${AUDIT_DB}
  checkpoints:
    key: ${FLEET_KEY}
postgres:
  dsn: ${LASTMILE_POSTGRES_DSN}
"""


def fleet_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dsn: str) -> tuple[Path, Any]:
    """A gateway.yaml naming the PostgreSQL log, and the fleet's signing key."""
    private = CheckpointSigner.ephemeral()
    raw = private._key.private_bytes_raw()
    for name, value in {
        "WMS_URL": "http://127.0.0.1:1",
        "AUDIT_DB": str(tmp_path / "unused.sqlite"),
        "FLEET_KEY": base64.b64encode(raw).decode(),
        "LASTMILE_POSTGRES_DSN": dsn,
    }.items():
        monkeypatch.setenv(name, value)
    path = tmp_path / "gateway.yaml"
    path.write_text(TEST_CONFIG.replace("audit:\n  path: ${AUDIT_DB}\n", POSTGRES_AUDIT))
    return path, CheckpointSigner(private._key)


async def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """The command as an operator runs it (on a thread: it runs an event loop of its own)."""
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["audit", *args])
    return code, capsys.readouterr().out


def head_line(out: str, engine: str) -> str:
    return next(line for line in out.splitlines() if line.startswith(f"{engine} tree head"))


async def test_a_sqlite_trail_is_copied_verbatim_and_verifies_to_the_same_head(
    postgres_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    old_key = signer()
    trail = tmp_path / "audit.sqlite"
    await build_log(trail, old_key, count=10, every=4)
    config, fleet_key = fleet_config(tmp_path, monkeypatch, postgres_dsn)

    code, out = await run(
        capsys, "migrate", "--from", str(trail), "--config", str(config),
        "--public-key", public_b64(old_key),
    )  # fmt: skip
    assert code == 0, out
    sqlite_head, postgres_head = head_line(out, "sqlite  "), head_line(out, "postgres")
    assert sqlite_head.split("size")[1] == postgres_head.split("size")[1]
    assert "size 10 root" in postgres_head
    assert "OK: the copy verifies to the same tree head" in out

    # the fleet goes on writing the copied log with its own key
    async with postgres(postgres_dsn) as handle, pg_store(handle, fleet_key) as store:
        for i in range(10, 13):
            await store.append(event(i))
    both = ("--public-key", public_b64(old_key), "--public-key", public_b64(fleet_key))
    code, out = await run(capsys, "verify", "--config", str(config), *both)
    assert code == 0, out
    assert out.startswith("OK: entries 0..12 (13) chain intact")

    code, out = await run(capsys, "prove", "req_0003", "--config", str(config))
    assert code == 0, out
    assert "entry 3 of the log" in check_proof(
        json.loads(out), [old_key.public_key, fleet_key.public_key]
    )
    code, out = await run(capsys, "writers", "--config", str(config))
    names = [json.loads(line)["writer"] for line in out.splitlines()]
    assert names == ["migrated:audit.sqlite", "test:1"]


async def test_a_pruned_trail_keeps_its_anchor_through_the_copy(
    postgres_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from datetime import timedelta

    key = signer()
    trail = tmp_path / "audit.sqlite"
    await build_log(trail, key, count=10, every=4)
    store = SqliteAuditStore(trail, key)
    await store.open()
    await prune(store, T0 + timedelta(minutes=5), actor="test")
    await store.close()
    config, _ = fleet_config(tmp_path, monkeypatch, postgres_dsn)

    code, out = await run(
        capsys, "migrate", "--from", str(trail), "--config", str(config),
        "--public-key", public_b64(key),
    )  # fmt: skip
    assert code == 0, out
    assert (
        head_line(out, "sqlite  ").split("size")[1] == head_line(out, "postgres").split("size")[1]
    )
    code, out = await run(
        capsys, "verify", "--config", str(config), "--public-key", public_b64(key)
    )
    assert code == 0, out
    assert "anchored at the pruning checkpoint of size 5" in out
    code, out = await run(capsys, "prove-consistency", "5", "--config", str(config))
    assert code == 0, out
    assert "extends the one at size 5" in check_proof(json.loads(out), [key.public_key])


async def test_migrate_refuses_a_log_that_is_not_empty_or_a_trail_that_does_not_verify(
    postgres_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    key = signer()
    trail = tmp_path / "audit.sqlite"
    await build_log(trail, key, count=4, every=2)
    config, _ = fleet_config(tmp_path, monkeypatch, postgres_dsn)
    assert (await run(capsys, "migrate", "--from", str(trail), "--config", str(config)))[0] == 0
    code, out = await run(capsys, "migrate", "--from", str(trail), "--config", str(config))
    assert code == 1
    assert "already holds 4 entries; nothing copied" in out

    import sqlite3

    with sqlite3.connect(trail) as db:
        db.execute(
            "UPDATE audit_events SET entry = replace(entry, '\"ok\"', '\"no\"') WHERE seq = 1"
        )
    code, out = await run(capsys, "migrate", "--from", str(trail), "--config", str(config))
    assert code == 1
    assert "refusing to copy a trail that does not verify" in out


async def test_the_reading_commands_work_on_the_postgres_log(
    postgres_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config, key = fleet_config(tmp_path, monkeypatch, postgres_dsn)
    async with postgres(postgres_dsn) as handle, pg_store(handle, key) as store:
        for i in range(6):
            await store.append(event(i, agent="replenishment-bot" if i == 4 else "inventory-bot"))
    cfg = ("--config", str(config))

    code, out = await run(capsys, "tail", "-n", "2", "--json", *cfg)
    assert [json.loads(line)["index"] for line in out.splitlines()] == [4, 5]
    code, out = await run(capsys, "search", "--agent", "replenishment-bot", "--json", *cfg)
    assert [json.loads(line)["event"]["request_id"] for line in out.splitlines()] == ["req_0004"]
    code, out = await run(capsys, "show", "req_0002", *cfg)
    assert code == 0
    assert "req_0002" in out
    code, out = await run(capsys, "list", "--agent", "inventory-bot", *cfg)
    assert len(out.splitlines()) == 5
    export = tmp_path / "export.csv"
    code, _ = await run(capsys, "export", "--format", "csv", "--out", str(export), *cfg)
    assert code == 0
    code, out = await run(
        capsys, "verify", "--export", str(export), "--public-key", public_b64(key)
    )
    assert code == 0, out
    assert out.startswith("OK: entries 0..5 (6) chain intact")


async def test_an_unreachable_database_is_one_line_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config, _ = fleet_config(tmp_path, monkeypatch, "postgresql://postgres@127.0.0.1:1/none")
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["audit", "tail", "--config", str(config)])
    err = capsys.readouterr().err
    assert code == 2
    assert "PostgreSQL (the postgres: section's dsn) cannot be reached" in err


async def test_auditors_read_search_and_prove_over_rest_on_the_postgres_log(
    postgres_dsn: str, wms: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_path, key = fleet_config(tmp_path, monkeypatch, postgres_dsn)
    monkeypatch.setenv("WMS_URL", str(wms.make_url("/")).rstrip("/"))
    config = parse_config(config_path.read_text(), "gateway.yaml")
    client: TestClient[Any, Any] = TestClient(TestServer(build_app(config), host="127.0.0.1"))
    await client.start_server()
    try:
        ids = []
        for n in range(4):
            if n == 2:
                await client.app[AUDIT_STORE].checkpoint()
            response = await client.post(
                "/v1/operations/warehouse.stock.get",
                json={"material": "100234", "plant": "1000"},
                headers={"Authorization": f"Bearer {INVENTORY}"},
            )
            assert response.status == 200, await response.text()
            ids.append(response.headers["X-Request-Id"])
        await client.app[AUDIT_STORE].checkpoint()
        auditor = {"Authorization": f"Bearer {AUDITOR}"}
        page = await (
            await client.get("/v1/audit/events", params={"agent": "inventory-bot"}, headers=auditor)
        ).json()
        published = await (await client.get("/v1/audit/checkpoint", headers=auditor)).json()
        proof = await (
            await client.get(f"/v1/audit/requests/{ids[0]}/proof", headers=auditor)
        ).json()
        consistency = await client.get(
            "/v1/audit/consistency", params={"first": "2"}, headers=auditor
        )
        document = await consistency.json()
    finally:
        await client.close()
    assert [e["event"]["request_id"] for e in page["events"]] == ids
    assert published["public_key"] == public_b64(key)
    assert published["checkpoint"]["tree_size"] == 4
    assert "entry 0 of the log" in check_proof(proof, [key.public_key])
    assert consistency.status == 200, document
    assert "extends the one at size 2" in check_proof(document, [key.public_key])


async def test_a_database_that_refuses_the_connection_is_one_line_and_exit_code_2(
    postgres_dsn: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    missing = postgres_dsn.rsplit("/", 1)[0] + "/lastmile_no_such_database"
    config, _ = fleet_config(tmp_path, monkeypatch, missing)
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["audit", "verify", "--config", str(config)])
    captured = capsys.readouterr()
    assert code == 2
    assert "PostgreSQL refused the connection (InvalidCatalogNameError)" in captured.err
    assert "Traceback" not in captured.err + captured.out
