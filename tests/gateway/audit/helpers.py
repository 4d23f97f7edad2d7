"""A small sealed log on disk, built through the real store, for integrity tests."""

from __future__ import annotations

import base64
import sqlite3
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.audit.entries import seal
from gateway.audit.signing import CheckpointSigner
from gateway.audit.store_sqlite import SqliteAuditStore
from schemas.audit import AuditEvent, Decision

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def event(i: int, *, when: datetime | None = None, agent: str = "inventory-bot") -> AuditEvent:
    return AuditEvent(
        event_id=uuid.uuid4().hex,
        time=when or T0 + timedelta(minutes=i),
        request_id=f"req_{i:04d}",
        protocol="rest",
        agent_id=agent,
        agent_owner="team-logistics",
        on_behalf_of=None,
        operation="warehouse.stock.get",
        backend="acme_wms",
        effect=None,
        decision=Decision.ALLOW,
        outcome="ok",
        status=200,
        input={"material": str(100000 + i), "plant": "1000"},
        gateway_ms=1.5,
        backend_ms=3.25,
    )


def signer() -> CheckpointSigner:
    return CheckpointSigner(Ed25519PrivateKey.generate())


def public_b64(key: CheckpointSigner) -> str:
    return base64.b64encode(key.public_key).decode()


async def build_log(
    path: Path, key: CheckpointSigner, count: int = 10, every: int = 4
) -> list[AuditEvent]:
    """``count`` events, a checkpoint every ``every`` and one at close."""
    store = SqliteAuditStore(path, key, checkpoint_every_events=every)
    await store.open()
    events = [event(i) for i in range(count)]
    for e in events:
        await store.append(e)
    await store.close()
    return events


def rows(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(path, isolation_level=None)


def reseal_from(path: Path, start: int, events: list[AuditEvent]) -> None:
    """Rewrite entries from ``start`` on with a consistent chain (what a forger without the
    signing key can do)."""
    with rows(path) as db:
        (prev,) = db.execute(
            "SELECT leaf_hash FROM audit_events WHERE seq = ?", (start - 1,)
        ).fetchone()
        for i in range(start, len(events)):
            entry = seal(i, prev, events[i])
            db.execute(
                "UPDATE audit_events SET entry = ?, leaf_hash = ?, prev_hash = ?, outcome = ? "
                "WHERE seq = ?",
                (entry.text, entry.leaf_hash, entry.prev_hash, events[i].outcome, i),
            )
            prev = entry.leaf_hash
