"""Pruning the PostgreSQL audit log: verify everything, then remove a prefix and anchor
the rest, as :mod:`prune_sqlite` does for SQLite.

Verification reads the whole log and must not hold up appends, so it runs first, in a
snapshot; the removal is bounded by what was verified. The removal does not need the
head lock either: the frontier at the cut is made of perfect subtrees that are already
stored and never change. Pruners serialise on an advisory lock.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

import asyncpg

from gateway.audit import pg_log
from gateway.audit.merkle import Frontier
from gateway.audit.proofcheck import canonical_json
from gateway.audit.signing import CheckpointSigner, format_time
from gateway.audit.store import PruneRefused, PruneResult
from gateway.audit.tree_nodes import frontier_keys
from gateway.audit.verify import verify_log

_PRUNE_LOCK = 0x6C6D_6170  # "lmap"


async def prune_postgres(
    pool: asyncpg.Pool, signer: CheckpointSigner, before: datetime, now: datetime
) -> PruneResult | None:
    cutoff = format_time(before)
    async with pool.acquire() as db:
        first_kept = await db.fetchval("SELECT MIN(seq) FROM audit_events WHERE time >= $1", cutoff)
        anchor = await pg_log.read_anchor(db)
        start = int(anchor["size"]) if anchor else 0
        if first_kept is not None and first_kept <= start:
            return None  # nothing is old enough: no need to read the log
    loop = asyncio.get_running_loop()
    async with pg_log.snapshot(pool) as snapshot:
        report = await loop.run_in_executor(None, verify_log, snapshot)
    if not report.ok:
        raise PruneRefused(f"the audit log does not verify, nothing removed: {report.summary()}")
    async with pool.acquire() as db, db.transaction():
        await db.execute("SELECT pg_advisory_xact_lock($1)", _PRUNE_LOCK)
        anchor = await pg_log.read_anchor(db)
        start = int(anchor["size"]) if anchor else 0
        first_kept = await db.fetchval("SELECT MIN(seq) FROM audit_events WHERE time >= $1", cutoff)
        end = min(report.end, report.end if first_kept is None else int(first_kept))
        if end <= start:
            return None
        keys = frontier_keys(end)
        nodes = await pg_log.fetch_nodes(db, keys)
        if anchor:
            old = Frontier.from_json(anchor["frontier"])
            nodes.update(zip(frontier_keys(old.size), old.hashes, strict=True))
        frontier = Frontier(end, [nodes[key] for key in keys])
        last_leaf = await db.fetchval("SELECT leaf_hash FROM audit_events WHERE seq = $1", end - 1)
        checkpoint = signer.sign(end, frontier.root(), now)
        new_anchor = {
            "size": end,
            "frontier": frontier.to_json(),
            "last_leaf_hash": last_leaf,
            "checkpoint": checkpoint,
            "pruned_before": cutoff,
            "pruned_at": format_time(now),
        }
        status = await db.execute("DELETE FROM audit_events WHERE seq < $1", end)
        await db.execute("DELETE FROM audit_checkpoints WHERE tree_size < $1", end)
        await db.execute("DELETE FROM audit_tree WHERE (idx + 1) << level::int <= $1", end)
        await db.execute(
            "INSERT INTO audit_checkpoints (tree_size, time, body) VALUES ($1, $2, $3) "
            "ON CONFLICT (tree_size) DO NOTHING",
            end,
            checkpoint["time"],
            canonical_json(checkpoint).decode(),
        )
        await db.execute(
            "INSERT INTO audit_anchor (id, body) VALUES (1, $1) "
            "ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            canonical_json(new_anchor).decode(),
        )
    return PruneResult(start, end, int(status.split()[-1]), checkpoint)
