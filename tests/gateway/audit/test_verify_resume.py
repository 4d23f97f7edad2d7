"""Verification continued from an earlier run's resume point: it reads only the entries
after the last checkpoint that run matched, proves the signed log extends that prefix,
and cannot be fooled by a forged or foreign resume point."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.audit.export import store_snapshot
from gateway.audit.signing import CheckpointSigner
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.audit.verify import Report, resume_from, verify_log
from tests.gateway.audit.helpers import build_log, event, rows, signer


def verified(path: Path, key: CheckpointSigner, resume: dict[str, Any] | None = None) -> Report:
    with store_snapshot(path, resume) as snapshot:
        return verify_log(snapshot, [key.public_key], resumed=resume is not None)


async def append(path: Path, key: CheckpointSigner, start: int, count: int) -> None:
    store = SqliteAuditStore(path, key, checkpoint_every_events=4)
    await store.open()
    for i in range(start, start + count):
        await store.append(event(i))
    await store.close()  # signs a checkpoint at the end


async def test_a_resumed_run_reads_only_what_was_appended_and_matches_the_new_checkpoints(
    tmp_path: Path,
) -> None:
    key, path = signer(), tmp_path / "audit.sqlite"
    await build_log(path, key)  # 10 entries, checkpoints at 4, 8 and 10
    first = verified(path, key)
    assert first.ok, first.summary()
    assert first.resume_point is not None
    assert first.resume_point["size"] == 10

    await append(path, key, 10, 6)
    again = verified(path, key, first.resume_point)

    assert again.ok, again.summary()
    assert (again.first_index, again.entries) == (10, 6)
    assert again.resumed
    assert "continued from the checkpoint of size 10" in again.summary()
    assert again.resume_point is not None
    assert again.resume_point["size"] == 16
    whole = verified(path, key)
    assert whole.resume_point == again.resume_point  # the same point a full run reaches


async def test_an_entry_edited_after_the_resume_point_is_caught(tmp_path: Path) -> None:
    key, path = signer(), tmp_path / "audit.sqlite"
    await build_log(path, key)
    resume = verified(path, key).resume_point
    await append(path, key, 10, 6)
    with rows(path) as db:
        db.execute(
            'UPDATE audit_events SET entry = replace(entry, \'"outcome":"ok"\', '
            '\'"outcome":"forbidden"\') WHERE seq = 12'
        )

    report = verified(path, key, resume)

    assert not report.ok
    assert report.problem is not None
    assert report.problem.index == 12


async def test_the_prefix_before_the_resume_point_is_left_to_a_full_run(tmp_path: Path) -> None:
    key, path = signer(), tmp_path / "audit.sqlite"
    await build_log(path, key)
    resume = verified(path, key).resume_point
    with rows(path) as db:
        db.execute(
            'UPDATE audit_events SET entry = replace(entry, \'"outcome":"ok"\', '
            '\'"outcome":"forbidden"\') WHERE seq = 3'
        )

    assert verified(path, key, resume).ok  # what the resumed run does not read
    full = verified(path, key)
    assert not full.ok
    assert full.problem is not None
    assert full.problem.index == 3


async def test_a_forged_resume_point_fails_the_run(tmp_path: Path) -> None:
    key, path = signer(), tmp_path / "audit.sqlite"
    await build_log(path, key)
    resume = verified(path, key).resume_point
    assert resume is not None
    hashes = list(resume["frontier"]["hashes"])
    hashes[0] = "00" * 32
    forged = {**resume, "frontier": {**resume["frontier"], "hashes": hashes}}

    report = verified(path, key, forged)

    assert not report.ok
    assert report.problem is not None
    assert "does not match the checkpoint" in report.problem.what


async def test_a_resume_point_signed_by_another_key_fails_the_run(tmp_path: Path) -> None:
    key, path = signer(), tmp_path / "audit.sqlite"
    await build_log(path, key)
    stranger_path = tmp_path / "other.sqlite"
    stranger = signer()
    await build_log(stranger_path, stranger)
    foreign = verified(stranger_path, stranger).resume_point

    report = verified(path, key, foreign)

    assert not report.ok


def test_a_pruning_anchor_beyond_the_resume_point_wins() -> None:
    anchor = {"size": 40, "frontier": {}, "checkpoint": {}}
    resume = {"size": 30, "frontier": {}, "checkpoint": {}}
    assert resume_from(anchor, resume) is anchor
    assert resume_from({**anchor, "size": 20}, resume) is resume
    assert resume_from(None, resume) is resume
    assert resume_from(anchor, None) is anchor
