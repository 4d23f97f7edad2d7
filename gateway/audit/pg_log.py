"""Reads of the PostgreSQL audit log that the store, the CLI and the REST face share:
search, one request's story, checkpoints, the anchor, pages of entries for verify and
export, and proofs made from stored nodes (O(log n) reads, see :mod:`tree_nodes`).

Every function takes a connection; proofs and snapshots run in a read-only
``REPEATABLE READ`` transaction so they see one state of the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from gateway.audit.entries import QUERY_COLUMNS, Entry
from gateway.audit.merkle import Frontier, PrunedRange
from gateway.audit.prove import ProofUnavailable
from gateway.audit.signing import format_time
from gateway.audit.sqlite_log import StoredEntry
from gateway.audit.store import AuditQuery
from gateway.audit.tree_nodes import (
    NodeKey,
    NodeTree,
    consistency_keys,
    frontier_keys,
    inclusion_keys,
)
from gateway.audit.verify import LogSnapshot, resume_from

Db = asyncpg.Connection | PoolConnectionProxy
"""A connection of its own or one borrowed from the pool."""

ENTRY_COLUMNS = "seq, prev_hash, leaf_hash, entry, " + ", ".join(QUERY_COLUMNS)
PAGE = 5000


def _stored(row: asyncpg.Record, extra: int = 0) -> StoredEntry:
    """An entry row; ``extra`` trailing columns that are not the entry's are left out."""
    seq, prev_hash, leaf, text, *columns = tuple(row)[: len(row) - extra]
    return StoredEntry(Entry(int(seq), prev_hash, leaf, text), tuple(columns))


async def read_anchor(db: Db) -> dict[str, Any] | None:
    body = await db.fetchval("SELECT body FROM audit_anchor WHERE id = 1")
    return None if body is None else dict(json.loads(body))


async def read_checkpoints(db: Db) -> list[dict[str, Any]]:
    rows = await db.fetch("SELECT body FROM audit_checkpoints ORDER BY tree_size")
    return [json.loads(row["body"]) for row in rows]


async def latest_checkpoint(db: Db) -> dict[str, Any] | None:
    body = await db.fetchval("SELECT body FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1")
    return None if body is None else dict(json.loads(body))


async def head(db: Db) -> tuple[Frontier, str]:
    """The frontier and last leaf hash the writers share (one row)."""
    row = await db.fetchrow("SELECT size, last_hash, frontier FROM audit_head WHERE id = 1")
    if row is None:
        raise LookupError("the audit schema has no head row")
    return Frontier(int(row["size"]), list(row["frontier"])), str(row["last_hash"])


async def stored_tree_head(db: Db) -> tuple[int, bytes]:
    """The size of the log and its root folded from the stored subtree nodes (and the
    pruning anchor): what proofs are made from, read independently of the head row's
    frontier, so comparing the two checks the stored tree."""
    frontier, _ = await head(db)
    anchor = await read_anchor(db)
    tree = await _tree(db, frontier.size, set(frontier_keys(frontier.size)), anchor)
    return frontier.size, tree.root()


async def entry_page(db: Db, start: int, limit: int = PAGE) -> list[StoredEntry]:
    rows = await db.fetch(
        f"SELECT {ENTRY_COLUMNS} FROM audit_events WHERE seq >= $1 ORDER BY seq LIMIT $2",  # noqa: S608 - fixed columns
        start,
        limit,
    )
    return [_stored(row) for row in rows]


async def find_request(db: Db, request_id: str) -> list[StoredEntry]:
    rows = await db.fetch(
        f"SELECT {ENTRY_COLUMNS} FROM audit_events WHERE request_id = $1 ORDER BY seq",  # noqa: S608 - fixed columns
        request_id,
    )
    return [_stored(row) for row in rows]


_FILTERS = ("agent_id", "agent_owner", "operation", "decision", "outcome", "kind", "request_id")


async def search(db: Db, query: AuditQuery) -> list[Entry]:
    clauses: list[str] = []
    params: list[Any] = []

    def where(clause: str, value: Any) -> None:
        params.append(value)
        clauses.append(clause.replace("?", f"${len(params)}"))

    for name in _FILTERS:
        value = getattr(query, name)
        if value is not None:
            where(f"{name} = ?", value)
    if query.since is not None:
        where("time >= ?", format_time(query.since))
    if query.until is not None:
        where("time < ?", format_time(query.until))
    if query.after is not None:
        where("seq < ?" if query.descending else "seq > ?", query.after)
    params.append(query.limit)
    condition = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    order = "DESC" if query.descending else "ASC"
    rows = await db.fetch(
        f"SELECT {ENTRY_COLUMNS} FROM audit_events {condition} "  # noqa: S608 - fixed clauses
        f"ORDER BY seq {order} LIMIT ${len(params)}",
        *params,
    )
    return [_stored(row).entry for row in rows]


_DURABLE_END = "(SELECT coalesce(max(last_index), -1) FROM audit_writers)"
"""The newest entry known durable: a writer records its last index with a synchronous
commit after its batch, and WAL is flushed in order, so every entry up to the greatest
recorded index is on disk (an entry committed but not yet flushed is visible earlier)."""


async def newest_durable_index(db: Db) -> int:
    return int(await db.fetchval(f"SELECT {_DURABLE_END}"))


async def durable_entries_after(db: Db, index: int, limit: int) -> list[Entry]:
    """Up to ``limit`` durable entries after ``index``, oldest first (a range read)."""
    rows = await db.fetch(
        f"SELECT {ENTRY_COLUMNS} FROM audit_events "  # noqa: S608 - fixed columns
        f"WHERE seq > $1 AND seq <= {_DURABLE_END} ORDER BY seq LIMIT $2",
        index,
        limit,
    )
    return [_stored(row).entry for row in rows]


async def fetch_nodes(db: Db, keys: Iterable[NodeKey]) -> dict[NodeKey, bytes]:
    """The stored hashes of ``keys`` in one query (level 0 is the entry's leaf hash)."""
    wanted = sorted(set(keys))
    leaves = [idx for level, idx in wanted if level == 0]
    inner = [(level, idx) for level, idx in wanted if level > 0]
    rows = await db.fetch(
        "SELECT t.level, t.idx, t.hash FROM audit_tree t "
        "JOIN unnest($1::smallint[], $2::bigint[]) AS k(level, idx) USING (level, idx) "
        "UNION ALL SELECT 0, seq, decode(leaf_hash, 'hex') FROM audit_events "
        "WHERE seq = ANY($3::bigint[])",
        [level for level, _ in inner],
        [idx for _, idx in inner],
        leaves,
    )
    return {(int(r[0]), int(r[1])): bytes(r[2]) for r in rows}


_HEADS = (
    "SELECT (SELECT body FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1) AS latest, "
    "(SELECT body FROM audit_anchor WHERE id = 1) AS anchor, "
    "ARRAY(SELECT body FROM audit_checkpoints WHERE tree_size = ANY($1::bigint[])) AS at"
)


_PREFIXED = ", ".join(f"e.{c}" for c in ENTRY_COLUMNS.split(", "))
_REQUEST_AND_HEAD = (
    f"SELECT {_PREFIXED}, h.latest, h.anchor FROM (SELECT "  # noqa: S608 - fixed columns
    "(SELECT body FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 1) AS latest, "
    "(SELECT body FROM audit_anchor WHERE id = 1) AS anchor) AS h "
    "LEFT JOIN audit_events e ON e.request_id = $1 ORDER BY e.seq"
)


async def _request_and_head(
    db: Db, request_id: str
) -> tuple[list[StoredEntry], dict[str, Any] | None, dict[str, Any] | None]:
    """One round trip: the request's entries, the latest checkpoint, the anchor."""
    rows = await db.fetch(_REQUEST_AND_HEAD, request_id)
    latest = json.loads(rows[0]["latest"]) if rows and rows[0]["latest"] else None
    anchor = json.loads(rows[0]["anchor"]) if rows and rows[0]["anchor"] else None
    stored = [_stored(row, 2) for row in rows if row["seq"] is not None]
    return stored, latest, anchor


async def _heads(db: Db, sizes: list[int]) -> tuple[Any, Any, dict[int, dict[str, Any]]]:
    """One round trip: the latest checkpoint, the pruning anchor, the checkpoints at
    ``sizes`` (the anchor's among them)."""
    row = await db.fetchrow(_HEADS, sizes)
    latest = json.loads(row["latest"]) if row and row["latest"] else None
    anchor = json.loads(row["anchor"]) if row and row["anchor"] else None
    found = {int(c["tree_size"]): c for c in (json.loads(b) for b in (row["at"] if row else []))}
    if anchor and int(anchor["size"]) in sizes:
        found.setdefault(int(anchor["size"]), anchor["checkpoint"])
    return latest, anchor, found


async def _tree(db: Db, size: int, keys: set[NodeKey], anchor: dict[str, Any] | None) -> NodeTree:
    nodes = await fetch_nodes(db, keys)
    if anchor:  # the removed prefix's frontier stands in for the nodes inside it
        frontier = Frontier.from_json(anchor["frontier"])
        nodes.update(zip(frontier_keys(frontier.size), frontier.hashes, strict=True))
    return NodeTree(size, nodes, int(anchor["size"]) if anchor else 0)


async def inclusion_proof(db: Db, request_id: str) -> dict[str, Any]:
    """Prove the call event of ``request_id`` is in the log under the latest checkpoint.

    Two round trips and no transaction: checkpoints only grow and stored nodes never
    change, so reads at different moments still make one valid proof (a prune racing
    it can only make the proof unavailable, never wrong)."""
    stored, checkpoint, anchor = await _request_and_head(db, request_id)
    if not stored:
        raise ProofUnavailable(f"no audit event has request id {request_id!r}")
    calls = [s for s in stored if s.entry.event.get("kind") == "call"] or stored
    entry = calls[0].entry
    if checkpoint is None or checkpoint["tree_size"] <= entry.index:
        raise ProofUnavailable(
            f"entry {entry.index} is newer than the latest signed checkpoint "
            f"(size {checkpoint['tree_size'] if checkpoint else 0}); the gateway signs one "
            "every audit.checkpoints.every_s seconds and when it stops: try again then"
        )
    size = int(checkpoint["tree_size"])
    tree = await _tree(db, size, inclusion_keys(entry.index, size), anchor)
    try:
        path = tree.inclusion_path(entry.index, size)
    except (PrunedRange, LookupError) as exc:
        raise ProofUnavailable(str(exc)) from None
    return {
        "type": "inclusion",
        "leaf_index": entry.index,
        "tree_size": size,
        "leaf_hash": entry.leaf_hash,
        "entry": entry.envelope,
        "audit_path": [h.hex() for h in path],
        "checkpoint": checkpoint,
    }


async def consistency_proof(db: Db, first: int, second: int | None) -> dict[str, Any]:
    """Prove the checkpoint at ``second`` (default: the latest) extends the one at ``first``
    (two round trips, without a transaction for the same reasons as
    :func:`inclusion_proof`)."""
    latest, anchor, checkpoints = await _heads(db, [first, -1 if second is None else second])
    if second is None:
        second = int(latest["tree_size"]) if latest else 0
        if latest:
            checkpoints[second] = latest
    missing = [size for size in (first, second) if size not in checkpoints]
    if missing:
        rows = await db.fetch(
            "SELECT tree_size FROM audit_checkpoints ORDER BY tree_size DESC LIMIT 20"
        )
        sizes = ", ".join(str(r[0]) for r in reversed(rows)) or "none"
        raise ProofUnavailable(
            f"no signed checkpoint at size {missing[0]}; the latest checkpoints are at: {sizes}"
        )
    if not 0 < first <= second:
        raise ProofUnavailable(f"no consistency proof from size {first} to {second}")
    tree = await _tree(db, second, consistency_keys(first, second), anchor)
    try:
        proof = tree.consistency_proof(first, second)
    except (PrunedRange, LookupError, ValueError) as exc:
        raise ProofUnavailable(str(exc)) from None
    return {
        "type": "consistency",
        "first": checkpoints[first],
        "second": checkpoints[second],
        "proof": [h.hex() for h in proof],
    }


async def writers(db: Db) -> list[dict[str, Any]]:
    """Every process that ever appended: its last index and the checkpoint covering it."""
    rows = await db.fetch(
        "SELECT w.writer, w.first_seen, w.last_append, w.last_index, w.appended, "
        "(SELECT MIN(tree_size) FROM audit_checkpoints c WHERE c.tree_size > w.last_index) "
        "AS covered_by FROM audit_writers w ORDER BY w.writer"
    )
    return [
        {
            "writer": row["writer"],
            "first_seen": format_time(row["first_seen"]),
            "last_append": format_time(row["last_append"]) if row["last_append"] else None,
            "last_index": row["last_index"],
            "appended": row["appended"],
            "covered_by_checkpoint": row["covered_by"],
        }
        for row in rows
    ]


class PagedEntries:
    """The entries of a snapshot as a plain iterable, read a page at a time over ``db``.

    ``verify_log`` and the exporters are synchronous and read entries lazily (constant
    memory for any size of log); this hands them pages fetched on the event loop that
    owns ``db``. Iterate it from another thread (an executor, or the CLI's main thread
    while the loop runs beside it), never from the loop's own thread."""

    def __init__(self, db: Db, loop: asyncio.AbstractEventLoop, start: int) -> None:
        self._db, self._loop, self._start = db, loop, start

    def __iter__(self) -> Iterator[StoredEntry]:
        start = self._start
        while True:
            page = asyncio.run_coroutine_threadsafe(
                entry_page(self._db, start), self._loop
            ).result()
            yield from page
            if len(page) < PAGE:
                return
            start = page[-1].entry.index + 1


@contextlib.asynccontextmanager
async def snapshot(
    pool: asyncpg.Pool, resume: dict[str, Any] | None = None
) -> AsyncIterator[LogSnapshot]:
    """One consistent view of the log (a read-only REPEATABLE READ transaction) with its
    entries read lazily through :class:`PagedEntries`; from ``resume`` as
    :func:`gateway.audit.export.store_snapshot` says."""
    async with pool.acquire() as db, db.transaction(isolation="repeatable_read", readonly=True):
        anchor = resume_from(await read_anchor(db), resume)
        checkpoints = await read_checkpoints(db)
        start = int(anchor["size"]) if anchor else 0
        yield LogSnapshot(anchor, PagedEntries(db, asyncio.get_running_loop(), start), checkpoints)
