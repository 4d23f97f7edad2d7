"""Verify an audit log (a store or an export) end to end and name the first broken link.

One pass over the entries in stored order checks, for each entry: that its text is
canonical JSON, that it sits at the index it claims, that its ``prev_hash`` is the leaf
hash of the entry before it, that its recorded leaf hash is the hash of its text, and
that the query columns agree with the sealed event. The Merkle frontier is folded along
the way, and at every size where a signed checkpoint exists the root must match it. A
checkpoint beyond the last entry means the log was truncated; a checkpoint signed by a
key the auditor does not trust means the log was rewritten.

A run may start where an earlier one ended (``Report.resume_point``: the last signed
checkpoint it matched, with the frontier and the last leaf hash at that size), in the
shape of a pruning anchor. It then reads only the entries after that checkpoint: their
chain must continue from the recorded leaf hash and their Merkle roots, folded from the
recorded frontier, must match the later signed checkpoints, which proves the log as now
signed extends exactly the prefix verified before. Rows of that prefix edited since are
found only by a full run, which the console and CLI keep one click away.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gateway.audit.entries import columns_of
from gateway.audit.merkle import Frontier
from gateway.audit.proofcheck import (
    ZERO_HASH,
    ProofError,
    canonical_json,
    leaf_hash,
    verify_checkpoint,
)
from gateway.audit.sqlite_log import StoredEntry


@dataclass
class LogSnapshot:
    """Everything verification reads: the pruning anchor, the entries, the checkpoints."""

    anchor: dict[str, Any] | None
    entries: Iterable[StoredEntry]
    checkpoints: list[dict[str, Any]]


@dataclass(frozen=True)
class Problem:
    index: int | None
    event_id: str | None
    what: str

    def __str__(self) -> str:
        where = "log" if self.index is None else f"entry {self.index}"
        if self.event_id:
            where += f" (event {self.event_id})"
        return f"{where}: {self.what}"


@dataclass
class Report:
    entries: int = 0
    first_index: int = 0
    checkpoints_checked: int = 0
    checkpoints_skipped: int = 0
    last_checkpoint_size: int = 0
    key_ids: set[str] = field(default_factory=set)
    pinned: bool = False
    problem: Problem | None = None
    resumed: bool = False  # started from an earlier run's resume point, not the beginning
    resume_point: dict[str, Any] | None = None  # where a later run may start (anchor shape)

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def end(self) -> int:
        return self.first_index + self.entries

    @property
    def unanchored(self) -> int:
        """Entries after the last signed checkpoint: protected by the chain only."""
        return max(self.end - self.last_checkpoint_size, 0)

    def summary(self) -> str:
        if self.problem is not None:
            return f"FAILED at {self.problem}"
        if self.entries == 0 and not self.first_index:
            return "OK: the log is empty"
        keys = ", ".join(sorted(self.key_ids)) or "none"
        text = (
            f"OK: entries {self.first_index}..{self.end - 1} ({self.entries}) chain intact; "
            f"{self.checkpoints_checked} signed checkpoint(s) match (keys: {keys}"
            f"{'' if self.pinned else ', NOT pinned: pass --public-key to check who signed'})"
        )
        if self.resumed:
            text += (
                f"; continued from the checkpoint of size {self.first_index} an earlier "
                "verification matched"
            )
        elif self.first_index:
            text += f"; anchored at the pruning checkpoint of size {self.first_index}"
        if self.unanchored:
            text += f"; the last {self.unanchored} entries await their next checkpoint"
        return text


def resume_from(
    anchor: dict[str, Any] | None, resume: dict[str, Any] | None
) -> dict[str, Any] | None:
    """Where a snapshot starts: the earlier run's resume point, unless the log's pruning
    anchor lies beyond it (retention removed entries after it: start at the anchor)."""
    if resume is None:
        return anchor
    if anchor is not None and int(anchor["size"]) > int(resume["size"]):
        return anchor
    return resume


class _Broken(Exception):
    def __init__(self, problem: Problem) -> None:
        self.problem = problem


def verify_log(
    snapshot: LogSnapshot,
    trusted_keys: list[bytes] | None = None,
    external_checkpoints: Iterable[dict[str, Any]] = (),
    *,
    resumed: bool = False,
) -> Report:
    """Check ``snapshot``; ``external_checkpoints`` are ones the auditor kept earlier.
    ``resumed``: the snapshot's anchor is an earlier run's resume point, not a pruning
    anchor (only the report's wording differs)."""
    report = Report(pinned=trusted_keys is not None, resumed=resumed)
    try:
        _verify(snapshot, trusted_keys, list(external_checkpoints), report)
    except _Broken as broken:
        report.problem = broken.problem
    return report


def _check_signature(checkpoint: dict[str, Any], trusted: list[bytes] | None) -> None:
    try:
        verify_checkpoint(checkpoint, trusted)
    except ProofError as exc:
        raise _Broken(
            Problem(None, None, f"checkpoint at tree size {checkpoint.get('tree_size')}: {exc}")
        ) from None


def _verify(
    snapshot: LogSnapshot,
    trusted: list[bytes] | None,
    external: list[dict[str, Any]],
    report: Report,
) -> None:
    frontier, prev, prev_id = Frontier(), ZERO_HASH, None
    if snapshot.anchor is not None:
        frontier, prev = _open_anchor(snapshot.anchor, trusted, report)
        report.resume_point = snapshot.anchor
    report.first_index = expected = frontier.size
    by_size: dict[int, list[dict[str, Any]]] = {}
    for checkpoint in [*snapshot.checkpoints, *external]:
        _check_signature(checkpoint, trusted)
        report.key_ids.add(str(checkpoint["key_id"]))
        size = int(checkpoint["tree_size"])
        if size < expected:
            report.checkpoints_skipped += 1  # signs a prefix that retention removed
        else:
            by_size.setdefault(size, []).append(checkpoint)
    _match_checkpoints(by_size.pop(expected, []), frontier, prev, None, report)
    for stored in snapshot.entries:
        entry = stored.entry
        envelope, event_id = _parse(entry.index, entry.text)
        where = (entry.index, event_id)
        if entry.index > expected:
            raise _Broken(
                Problem(
                    expected,
                    None,
                    f"missing: the log jumps from entry {expected - 1} to entry {entry.index}; "
                    f"entries {expected}..{entry.index - 1} were deleted (or moved)",
                )
            )
        if entry.index < expected:
            raise _Broken(
                Problem(
                    *where,
                    f"out of order: stored after entry {expected - 1}, so it was duplicated, "
                    "moved or inserted",
                )
            )
        if envelope.get("index") != entry.index:
            raise _Broken(
                Problem(
                    *where,
                    f"stored at position {entry.index} but sealed as entry "
                    f"{envelope.get('index')}: entries were reordered or inserted",
                )
            )
        if envelope.get("prev_hash") != prev:
            raise _Broken(
                Problem(
                    *where,
                    f"prev_hash does not match the hash of entry {expected - 1}"
                    f"{f' (event {prev_id})' if prev_id else ''}: that entry was changed, or "
                    "this one was inserted or moved",
                )
            )
        leaf = leaf_hash(entry.text.encode("utf-8")).hex()
        if entry.leaf_hash != leaf:
            raise _Broken(
                Problem(*where, "its content does not match its recorded hash: it was edited")
            )
        if stored.columns is not None and columns_of(envelope["event"]) != stored.columns:
            raise _Broken(
                Problem(*where, "the query columns disagree with the sealed event: edited")
            )
        frontier.append(bytes.fromhex(leaf))
        prev, prev_id, expected = leaf, event_id, expected + 1
        report.entries += 1
        _match_checkpoints(by_size.pop(expected, []), frontier, prev, where, report)
    if by_size:
        size = max(by_size)
        checkpoint = by_size[size][0]
        raise _Broken(
            Problem(
                expected,
                None,
                f"truncated: the log ends after entry {expected - 1}, but a checkpoint signed "
                f"at {checkpoint['time']} covers {size} entries (entries {expected}..{size - 1} "
                "are missing)",
            )
        )


def _open_anchor(
    anchor: dict[str, Any], trusted: list[bytes] | None, report: Report
) -> tuple[Frontier, str]:
    checkpoint = anchor.get("checkpoint")
    if not isinstance(checkpoint, dict):
        raise _Broken(Problem(None, None, "the pruning anchor has no signed checkpoint"))
    _check_signature(checkpoint, trusted)
    try:
        frontier = Frontier.from_json(anchor["frontier"])
    except (KeyError, ValueError, TypeError):
        raise _Broken(Problem(None, None, "the pruning anchor's frontier is malformed")) from None
    if frontier.size != checkpoint["tree_size"] or frontier.root().hex() != checkpoint["root_hash"]:
        raise _Broken(
            Problem(None, None, "the pruning anchor does not match the checkpoint that signs it")
        )
    report.key_ids.add(str(checkpoint["key_id"]))
    report.checkpoints_checked += 1
    report.last_checkpoint_size = frontier.size
    return frontier, str(anchor.get("last_leaf_hash"))


def _match_checkpoints(
    checkpoints: list[dict[str, Any]],
    frontier: Frontier,
    last_leaf_hash: str,
    where: tuple[int, str | None] | None,
    report: Report,
) -> None:
    for checkpoint in checkpoints:
        if frontier.root().hex() != checkpoint["root_hash"]:
            raise _Broken(
                Problem(
                    where[0] if where else None,
                    where[1] if where else None,
                    f"the Merkle root of the first {frontier.size} entries differs from the "
                    f"checkpoint signed at {checkpoint['time']} by key {checkpoint['key_id']}: "
                    "entries up to here were rewritten",
                )
            )
        report.checkpoints_checked += 1
        report.last_checkpoint_size = frontier.size
        report.resume_point = {
            "size": frontier.size,
            "frontier": frontier.to_json(),
            "last_leaf_hash": last_leaf_hash,
            "checkpoint": checkpoint,
        }


def _parse(index: int, text: str) -> tuple[dict[str, Any], str | None]:
    try:
        envelope = json.loads(text)
    except ValueError:
        raise _Broken(Problem(index, None, "not valid JSON: it was edited")) from None
    if not isinstance(envelope, dict) or not isinstance(envelope.get("event"), dict):
        raise _Broken(Problem(index, None, "not an audit log entry: it was edited"))
    event_id = envelope["event"].get("event_id")
    event_id = event_id if isinstance(event_id, str) else None
    if canonical_json(envelope).decode("utf-8") != text:
        raise _Broken(Problem(index, event_id, "not in canonical form: it was edited"))
    return envelope, event_id
