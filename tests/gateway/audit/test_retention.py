"""Pruning removes the oldest events, is itself recorded, and what remains still verifies."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from gateway.app import build_app
from gateway.appkeys import AUDIT_STORE
from gateway.audit import sqlite_log
from gateway.audit.proofcheck import check_proof
from gateway.audit.prove import consistency_proof, inclusion_proof
from gateway.audit.retention import PruneRefused, prune
from gateway.audit.signing import CheckpointSigner, write_key_file
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.cli import main
from tests.conftest import TEST_CONFIG, make_config
from tests.gateway.audit.helpers import T0, build_log, public_b64, rows, signer


async def test_pruned_log_is_anchored_recorded_and_still_verifies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key = signer()
    path = tmp_path / "audit.sqlite"
    await build_log(path, key, count=10, every=4)  # events at T0 + 0..9 minutes

    store = SqliteAuditStore(path, key)
    await store.open()
    result = await prune(store, T0 + timedelta(minutes=6), actor="retention")
    await store.close()

    assert result is not None
    assert (result.start, result.end, result.removed) == (0, 6, 6)
    db = sqlite_log.connect(path, create=False)
    entries = list(sqlite_log.iter_entries(db))
    assert [s.entry.index for s in entries] == [6, 7, 8, 9, 10]
    recorded = entries[-1].entry.event
    assert (recorded["kind"], recorded["action"], recorded["actor"]) == (
        "admin",
        "audit_prune",
        "retention",
    )
    assert recorded["target"] == "audit entries 0..5"

    # Proofs for kept events and consistency from the anchor still work.
    proof = inclusion_proof(db, "req_0008")
    assert "entry 8" in check_proof(proof, [key.public_key])
    extension = consistency_proof(db, 6, None)
    assert "extends the one at size 6" in check_proof(extension, [key.public_key])
    db.close()

    capsys.readouterr()
    assert main(["audit", "verify", "--store", str(path), "--public-key", public_b64(key)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("OK: entries 6..10 (5) chain intact")
    assert "anchored at the pruning checkpoint of size 6" in out

    # An export of the pruned log carries the anchor and verifies on its own.
    export = tmp_path / "audit.jsonl"
    assert main(["audit", "export", "--store", str(path), "--out", str(export)]) == 0
    assert json.loads(export.read_text().splitlines()[0])["type"] == "anchor"
    assert main(["audit", "verify", "--export", str(export), "--public-key", public_b64(key)]) == 0

    # Forging the anchor is caught: it must fold to the checkpoint that signs it.
    with rows(path) as raw:
        (body,) = raw.execute("SELECT body FROM audit_anchor").fetchone()
        anchor = json.loads(body)
        anchor["frontier"]["hashes"][0] = "00" * 32
        raw.execute("UPDATE audit_anchor SET body = ?", (json.dumps(anchor),))
    capsys.readouterr()
    assert main(["audit", "verify", "--store", str(path), "--public-key", public_b64(key)]) == 1
    assert "the pruning anchor does not match the checkpoint" in capsys.readouterr().out


async def test_a_tampered_log_is_never_pruned(tmp_path: Path) -> None:
    key = signer()
    path = tmp_path / "audit.sqlite"
    await build_log(path, key, count=6, every=3)
    with rows(path) as raw:
        raw.execute("UPDATE audit_events SET entry = replace(entry, '1.5', '9.5') WHERE seq = 1")
    store = SqliteAuditStore(path, key)
    await store.open()
    try:
        with pytest.raises(PruneRefused, match="entry 1"):
            await prune(store, T0 + timedelta(minutes=4), actor="retention")
    finally:
        await store.close()
    with rows(path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM audit_events").fetchone() == (6,)


async def test_the_gateway_applies_configured_retention_at_start_up(
    wms: TestServer, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "signing.pem"
    key = CheckpointSigner(write_key_file(key_file))
    audit_db = tmp_path / "audit.sqlite"
    await build_log(audit_db, key, count=4, every=2)  # November 1st: long past
    text = TEST_CONFIG.replace(
        "audit:\n  path: ${AUDIT_DB}\n",
        f"audit:\n  path: ${{AUDIT_DB}}\n  checkpoints: {{key_file: {key_file}}}\n"
        "  retention: {days: 7}\n",
    )
    app = build_app(make_config(str(wms.make_url("/")).rstrip("/"), audit_db, text))
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1"))
    await client.start_server()
    try:
        events = await app[AUDIT_STORE].query(limit=10)
    finally:
        await client.close()
    assert [(e.kind, e.action, e.actor) for e in events] == [("admin", "audit_prune", "retention")]
    capsys.readouterr()
    assert main(["audit", "verify", "--store", str(audit_db), "--public-key", str(key_file)]) == 0
    assert "anchored at the pruning checkpoint of size 4" in capsys.readouterr().out
