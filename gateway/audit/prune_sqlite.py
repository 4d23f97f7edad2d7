"""Pruning a SQLite audit log: the prefix removal and the anchor, in one transaction on
the writer's connection (the policy and the admin event are in :mod:`retention`)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from gateway.audit import sqlite_log
from gateway.audit.merkle import Frontier
from gateway.audit.proofcheck import canonical_json
from gateway.audit.signing import CheckpointSigner, format_time
from gateway.audit.store import PruneRefused, PruneResult
from gateway.audit.verify import LogSnapshot, verify_log


def prune_sqlite(
    db: sqlite3.Connection, signer: CheckpointSigner, before: datetime, now: datetime
) -> PruneResult | None:
    db.execute("BEGIN IMMEDIATE")
    try:
        anchor = sqlite_log.read_anchor(db)
        frontier = Frontier.from_json(anchor["frontier"]) if anchor else Frontier()
        start = frontier.size
        (first_kept,) = db.execute(
            "SELECT MIN(seq) FROM audit_events WHERE time >= ?", (format_time(before),)
        ).fetchone()
        last = sqlite_log.last_row(db)
        end = int(first_kept) if first_kept is not None else (last[0] + 1 if last else start)
        if end <= start:  # nothing is old enough: no need to read the log
            db.execute("ROLLBACK")
            return None
        report = verify_log(
            LogSnapshot(anchor, sqlite_log.iter_entries(db), sqlite_log.read_checkpoints(db))
        )
        if not report.ok:
            raise PruneRefused(
                f"the audit log does not verify, nothing removed: {report.summary()}"
            )
        for leaf in sqlite_log.leaf_hashes(db, start, end):
            frontier.append(leaf)
        (last_leaf,) = db.execute(
            "SELECT leaf_hash FROM audit_events WHERE seq = ?", (end - 1,)
        ).fetchone()
        checkpoint = signer.sign(end, frontier.root(), now)
        new_anchor = {
            "size": end,
            "frontier": frontier.to_json(),
            "last_leaf_hash": last_leaf,
            "checkpoint": checkpoint,
            "pruned_before": format_time(before),
            "pruned_at": format_time(now),
        }
        removed = db.execute("DELETE FROM audit_events WHERE seq < ?", (end,)).rowcount
        db.execute("DELETE FROM audit_checkpoints WHERE tree_size < ?", (end,))
        sqlite_log.insert_checkpoint(db, checkpoint, frontier)
        db.execute(
            "INSERT OR REPLACE INTO audit_anchor (id, body) VALUES (1, ?)",
            (canonical_json(new_anchor).decode(),),
        )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    return PruneResult(start, end, removed, checkpoint)
