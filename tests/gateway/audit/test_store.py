"""The writer: group commit, a chain in commit order under concurrency, several writers."""

from __future__ import annotations

import asyncio
from pathlib import Path

from gateway.audit.export import read_store
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.audit.verify import verify_log
from tests.gateway.audit.helpers import event, signer


async def test_concurrent_appends_share_commits_and_form_one_chain(tmp_path: Path) -> None:
    key = signer()
    store = SqliteAuditStore(tmp_path / "audit.sqlite", key, checkpoint_every_events=16)
    await store.open()
    entries = await asyncio.gather(*(store.append(event(i)) for i in range(50)))
    commits = store.commits
    await store.close()

    assert sorted(e.index for e in entries) == list(range(50))
    assert commits < 50  # one fsync per batch, not per event
    report = verify_log(read_store(tmp_path / "audit.sqlite"), [key.public_key])
    assert report.ok, report.summary()
    assert report.entries == 50


async def test_two_writers_on_one_file_keep_one_chain(tmp_path: Path) -> None:
    key = signer()
    path = tmp_path / "audit.sqlite"
    first, second = SqliteAuditStore(path, key), SqliteAuditStore(path, key)
    await first.open()
    await second.open()
    for i in range(6):
        await (first if i % 2 else second).append(event(i))
    await first.close()
    await second.close()

    report = verify_log(read_store(path), [key.public_key])
    assert report.ok, report.summary()
    assert report.entries == 6


async def test_a_reopened_store_continues_the_chain(tmp_path: Path) -> None:
    key = signer()
    path = tmp_path / "audit.sqlite"
    for start in (0, 3):
        store = SqliteAuditStore(path, key)
        await store.open()
        for i in range(start, start + 3):
            await store.append(event(i))
        await store.close()
    report = verify_log(read_store(path), [key.public_key])
    assert report.ok, report.summary()
    assert (report.entries, report.checkpoints_checked, report.unanchored) == (6, 2, 0)
