"""Inclusion and consistency proofs from a store, as documents that
:func:`gateway.audit.proofcheck.check_proof` (or any RFC 9162 verifier) can check."""

from __future__ import annotations

import sqlite3
from typing import Any

from gateway.audit import sqlite_log
from gateway.audit.merkle import Frontier, MerkleTree, PrunedRange


class ProofUnavailable(Exception):
    """No proof can be made; the message says why and what to do."""


def _tree(db: sqlite3.Connection, size: int) -> MerkleTree:
    anchor = sqlite_log.read_anchor(db)
    pruned = Frontier.from_json(anchor["frontier"]) if anchor else None
    start = pruned.size if pruned else 0
    leaves = sqlite_log.leaf_hashes(db, start, size)
    if start + len(leaves) != size:
        raise ProofUnavailable(f"the store does not hold entries {start}..{size - 1} in full")
    return MerkleTree(leaves, pruned)


def _checkpoints(db: sqlite3.Connection) -> dict[int, dict[str, Any]]:
    found = {int(c["tree_size"]): c for c in sqlite_log.read_checkpoints(db)}
    anchor = sqlite_log.read_anchor(db)
    if anchor:
        found.setdefault(int(anchor["size"]), anchor["checkpoint"])
    return found


def inclusion_proof(db: sqlite3.Connection, request_id: str) -> dict[str, Any]:
    """Prove the call event of ``request_id`` is in the log under the latest checkpoint."""
    db.execute("BEGIN")
    try:
        stored = sqlite_log.find_request(db, request_id)
        if not stored:
            raise ProofUnavailable(f"no audit event has request id {request_id!r}")
        calls = [s for s in stored if s.entry.event.get("kind") == "call"] or stored
        entry = calls[0].entry
        checkpoint = sqlite_log.latest_checkpoint(db)
        if checkpoint is None or checkpoint["tree_size"] <= entry.index:
            raise ProofUnavailable(
                f"entry {entry.index} is newer than the latest signed checkpoint "
                f"(size {checkpoint['tree_size'] if checkpoint else 0}); the gateway signs one "
                "every audit.checkpoints.every_s seconds and when it stops: try again then"
            )
        size = int(checkpoint["tree_size"])
        path = _tree(db, size).inclusion_path(entry.index, size)
    except PrunedRange as exc:
        raise ProofUnavailable(str(exc)) from None
    finally:
        db.execute("COMMIT")
    return {
        "type": "inclusion",
        "leaf_index": entry.index,
        "tree_size": size,
        "leaf_hash": entry.leaf_hash,
        "entry": entry.envelope,
        "audit_path": [h.hex() for h in path],
        "checkpoint": checkpoint,
    }


def consistency_proof(db: sqlite3.Connection, first: int, second: int | None) -> dict[str, Any]:
    """Prove the checkpoint at ``second`` (default: the latest) extends the one at ``first``."""
    db.execute("BEGIN")
    try:
        checkpoints = _checkpoints(db)
        second = max(checkpoints, default=0) if second is None else second
        missing = [size for size in (first, second) if size not in checkpoints]
        if missing:
            sizes = ", ".join(map(str, sorted(checkpoints))) or "none"
            raise ProofUnavailable(
                f"no signed checkpoint at size {missing[0]}; checkpoints exist at: {sizes}"
            )
        proof = _tree(db, second).consistency_proof(first, second)
    except (PrunedRange, ValueError) as exc:
        raise ProofUnavailable(str(exc)) from None
    finally:
        db.execute("COMMIT")
    return {
        "type": "consistency",
        "first": checkpoints[first],
        "second": checkpoints[second],
        "proof": [h.hex() for h in proof],
    }
