"""Bulk loading sealed entries into an empty PostgreSQL log: how ``lastmile audit
migrate`` copies a SQLite trail (entries, checkpoints and anchor verbatim, so every old
hash and signature still verifies), and how the benchmark builds large logs fast.

Entries go in with ``COPY`` in chunks, and the perfect subtrees the proofs read are
computed on the way (:func:`tree_nodes.append_leaf`, the same fold the server does).
Everything happens in one transaction holding the head row, so a live writer waits
rather than interleaving, and a failed copy leaves the log empty.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from gateway.audit.merkle import Frontier
from gateway.audit.pg_log import Db
from gateway.audit.proofcheck import ZERO_HASH, canonical_json
from gateway.audit.signing import format_time
from gateway.audit.sqlite_log import StoredEntry
from gateway.audit.tree_nodes import append_leaf

CHUNK = 10_000
_EVENT_COLUMNS = (
    "seq",
    "event_id",
    "time",
    "request_id",
    "kind",
    "agent_id",
    "agent_owner",
    "operation",
    "decision",
    "outcome",
    "prev_hash",
    "leaf_hash",
    "entry",
    "writer",
)


class NotEmpty(Exception):
    """The PostgreSQL log already holds entries; a copy goes only into an empty one."""


@dataclass
class Loaded:
    entries: int
    checkpoints: int
    frontier: Frontier


def _row(stored: StoredEntry, writer: str) -> tuple[Any, ...]:
    entry = stored.entry
    event = entry.event
    return (
        entry.index,
        event["event_id"],
        format_time(datetime.fromisoformat(event["time"])),
        event["request_id"],
        event.get("kind"),
        event.get("agent_id"),
        event.get("agent_owner"),
        event.get("operation"),
        event.get("decision"),
        event.get("outcome"),
        entry.prev_hash,
        entry.leaf_hash,
        entry.text,
        writer,
    )


async def load(
    db: Db,
    entries: Iterable[StoredEntry],
    checkpoints: list[dict[str, Any]],
    anchor: dict[str, Any] | None,
    *,
    writer: str,
) -> Loaded:
    """Copy ``entries`` (in index order, already verified) into the empty log."""
    async with db.transaction():
        size = await db.fetchval("SELECT size FROM audit_head WHERE id = 1 FOR UPDATE")
        if size or await db.fetchval("SELECT EXISTS (SELECT 1 FROM audit_anchor)"):
            raise NotEmpty(f"the PostgreSQL audit log already holds {size} entries")
        frontier = Frontier.from_json(anchor["frontier"]) if anchor else Frontier()
        last = str(anchor["last_leaf_hash"]) if anchor else ZERO_HASH
        rows: list[tuple[Any, ...]] = []
        nodes: list[tuple[int, int, bytes]] = []
        count = 0
        for stored in entries:
            rows.append(_row(stored, writer))
            for (level, idx), digest in append_leaf(
                frontier, bytes.fromhex(stored.entry.leaf_hash)
            ):
                nodes.append((level, idx, digest))
            last = stored.entry.leaf_hash
            count += 1
            if len(rows) >= CHUNK:
                await _flush(db, rows, nodes)
        await _flush(db, rows, nodes)
        await db.execute(
            "UPDATE audit_head SET size = $1, last_hash = $2, frontier = $3 WHERE id = 1",
            frontier.size,
            last,
            frontier.hashes,
        )
        await db.executemany(
            "INSERT INTO audit_checkpoints (tree_size, time, body, writer) VALUES ($1, $2, $3, $4)",
            [(c["tree_size"], c["time"], canonical_json(c).decode(), writer) for c in checkpoints],
        )
        if anchor is not None:
            await db.execute(
                "INSERT INTO audit_anchor (id, body) VALUES (1, $1)",
                canonical_json(anchor).decode(),
            )
        if count:
            await db.execute(
                "INSERT INTO audit_writers (writer, last_append, last_index, appended) "
                "VALUES ($1, now(), $2, $3)",
                writer,
                frontier.size - 1,
                count,
            )
    return Loaded(count, len(checkpoints), frontier)


async def _flush(db: Db, rows: list[tuple[Any, ...]], nodes: list[tuple[int, int, bytes]]) -> None:
    if rows:
        await db.copy_records_to_table("audit_events", records=rows, columns=_EVENT_COLUMNS)
        rows.clear()
    if nodes:
        await db.copy_records_to_table(
            "audit_tree", records=nodes, columns=("level", "idx", "hash")
        )
        nodes.clear()
