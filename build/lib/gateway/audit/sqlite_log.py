"""The audit log's SQLite layout and the synchronous reads that writer, verifier,
prover and exporter share. Everything here runs off the event loop.

Tables: ``audit_events`` (one row per sealed entry; ``seq`` is the entry's index in the
log, assigned by the writer in commit order), ``audit_checkpoints`` (signed tree heads)
and ``audit_anchor`` (after pruning: the frontier of the removed prefix and the
checkpoint that signs it). The signing key is never stored here.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gateway.audit.entries import QUERY_COLUMNS, Entry
from gateway.audit.merkle import Frontier
from gateway.audit.proofcheck import ZERO_HASH, canonical_json
from gateway.audit.signing import format_time
from gateway.audit.store import AuditQuery

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit_events (
    seq         INTEGER PRIMARY KEY,
    event_id    TEXT NOT NULL UNIQUE,
    time        TEXT NOT NULL,
    request_id  TEXT NOT NULL,
    kind        TEXT NOT NULL,
    agent_id    TEXT,
    agent_owner TEXT,
    operation   TEXT NOT NULL,
    decision    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    leaf_hash   TEXT NOT NULL,
    entry       TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS audit_events_request ON audit_events (request_id);
CREATE INDEX IF NOT EXISTS audit_events_agent ON audit_events (agent_id, seq);
CREATE INDEX IF NOT EXISTS audit_events_owner ON audit_events (agent_owner, seq);
CREATE INDEX IF NOT EXISTS audit_events_operation ON audit_events (operation, seq);
CREATE INDEX IF NOT EXISTS audit_events_time ON audit_events (time);
CREATE TABLE IF NOT EXISTS audit_checkpoints (
    tree_size INTEGER PRIMARY KEY,
    time      TEXT NOT NULL,
    body      TEXT NOT NULL,
    frontier  TEXT  -- the writer's frontier at tree_size: a start-up shortcut, not signed
);
CREATE TABLE IF NOT EXISTS audit_anchor (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    body TEXT NOT NULL
);
"""

ENTRY_COLUMNS = "seq, prev_hash, leaf_hash, entry, " + ", ".join(QUERY_COLUMNS)


class StoreLayoutError(Exception):
    """The file is not an audit store this version can read."""


def connect(path: Path, *, create: bool) -> sqlite3.Connection:
    if not create and not path.exists():
        raise StoreLayoutError(f"{path}: no such audit store")
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA busy_timeout=10000")
    columns = {row[1] for row in db.execute("PRAGMA table_info(audit_events)")}
    if columns and "leaf_hash" not in columns:
        db.close()
        raise StoreLayoutError(
            f"{path} was written by an earlier lastmile without a hash chain; "
            "move it aside (it cannot be verified) and start a new store"
        )
    if create:
        db.executescript(SCHEMA)
    return db


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A row as stored: the sealed entry and the query columns beside it."""

    entry: Entry
    columns: tuple[Any, ...] | None  # None: read from an export, which has no columns


def row_to_stored(row: tuple[Any, ...]) -> StoredEntry:
    seq, prev_hash, leaf, text, *columns = row
    return StoredEntry(Entry(seq, prev_hash, leaf, text), tuple(columns))


def read_anchor(db: sqlite3.Connection) -> dict[str, Any] | None:
    row = db.execute("SELECT body FROM audit_anchor WHERE id = 1").fetchone()
    if row is None:
        return None
    anchor: dict[str, Any] = json.loads(row[0])
    return anchor


def iter_entries(db: sqlite3.Connection, start: int = 0) -> Iterator[StoredEntry]:
    rows = db.execute(
        f"SELECT {ENTRY_COLUMNS} FROM audit_events WHERE seq >= ? ORDER BY seq",  # noqa: S608 - fixed columns
        (start,),
    )
    for row in rows:
        yield row_to_stored(row)


def read_checkpoints(db: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        json.loads(body)
        for (body,) in db.execute("SELECT body FROM audit_checkpoints ORDER BY tree_size")
    ]


def latest_checkpoint(db: sqlite3.Connection) -> dict[str, Any] | None:
    row = db.execute(
        "SELECT body FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    checkpoint: dict[str, Any] = json.loads(row[0])
    return checkpoint


@dataclass(slots=True)
class Head:
    """Where the next entry goes: its index, its predecessor's hash, the tree so far."""

    frontier: Frontier
    last_hash: str

    @property
    def size(self) -> int:
        return self.frontier.size


def insert_checkpoint(
    db: sqlite3.Connection, checkpoint: dict[str, Any], frontier: Frontier
) -> None:
    db.execute(
        "INSERT OR IGNORE INTO audit_checkpoints (tree_size, time, body, frontier) "
        "VALUES (?, ?, ?, ?)",
        (
            checkpoint["tree_size"],
            checkpoint["time"],
            canonical_json(checkpoint).decode(),
            canonical_json(frontier.to_json()).decode(),
        ),
    )


def _checkpointed_head(db: sqlite3.Connection, anchor_size: int) -> Head | None:
    """The head at the latest checkpoint, from its stored frontier, if that frontier still
    folds to the signed root (anything else: rebuild from the leaves)."""
    row = db.execute(
        "SELECT body, frontier FROM audit_checkpoints WHERE frontier IS NOT NULL "
        "ORDER BY tree_size DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    try:
        checkpoint, frontier = json.loads(row[0]), Frontier.from_json(json.loads(row[1]))
    except (ValueError, TypeError):
        return None
    if frontier.size <= anchor_size or frontier.root().hex() != checkpoint.get("root_hash"):
        return None
    last = db.execute(
        "SELECT leaf_hash FROM audit_events WHERE seq = ?", (frontier.size - 1,)
    ).fetchone()
    return Head(frontier, str(last[0])) if last else None


def load_head(db: sqlite3.Connection) -> Head:
    """Rebuild the head: from the latest checkpoint's frontier (or the pruning anchor, or
    nothing) plus the leaf hashes stored after it."""
    anchor = read_anchor(db)
    frontier = Frontier.from_json(anchor["frontier"]) if anchor else Frontier()
    last = anchor["last_leaf_hash"] if anchor else ZERO_HASH
    shortcut = _checkpointed_head(db, frontier.size)
    if shortcut is not None:
        frontier, last = shortcut.frontier, shortcut.last_hash
    for (leaf,) in db.execute(
        "SELECT leaf_hash FROM audit_events WHERE seq >= ? ORDER BY seq", (frontier.size,)
    ):
        frontier.append(bytes.fromhex(leaf))
        last = leaf
    return Head(frontier, last)


def last_row(db: sqlite3.Connection) -> tuple[int, str] | None:
    row = db.execute("SELECT seq, leaf_hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(row[0]), str(row[1])) if row else None


def find_request(db: sqlite3.Connection, request_id: str) -> list[StoredEntry]:
    rows = db.execute(
        f"SELECT {ENTRY_COLUMNS} FROM audit_events WHERE request_id = ? ORDER BY seq",  # noqa: S608 - fixed columns
        (request_id,),
    ).fetchall()
    return [row_to_stored(row) for row in rows]


def leaf_hashes(db: sqlite3.Connection, start: int, end: int) -> list[bytes]:
    return [
        bytes.fromhex(leaf)
        for (leaf,) in db.execute(
            "SELECT leaf_hash FROM audit_events WHERE seq >= ? AND seq < ? ORDER BY seq",
            (start, end),
        )
    ]


_FILTERS = (
    ("agent_id", "agent_id = ?"),
    ("agent_owner", "agent_owner = ?"),
    ("operation", "operation = ?"),
    ("decision", "decision = ?"),
    ("outcome", "outcome = ?"),
    ("kind", "kind = ?"),
    ("request_id", "request_id = ?"),
)


def search(db: sqlite3.Connection, query: AuditQuery) -> list[Entry]:
    clauses: list[str] = []
    params: list[Any] = []
    for name, clause in _FILTERS:
        value = getattr(query, name)
        if value is not None:
            clauses.append(clause)
            params.append(value)
    if query.since is not None:
        clauses.append("time >= ?")
        params.append(format_time(query.since))
    if query.until is not None:
        clauses.append("time < ?")
        params.append(format_time(query.until))
    if query.after is not None:
        clauses.append("seq < ?" if query.descending else "seq > ?")
        params.append(query.after)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    order = "DESC" if query.descending else "ASC"
    rows = db.execute(
        f"SELECT {ENTRY_COLUMNS} FROM audit_events {where} "  # noqa: S608 - fixed clauses
        f"ORDER BY seq {order} LIMIT ?",
        (*params, query.limit),
    ).fetchall()
    return [row_to_stored(row).entry for row in rows]
