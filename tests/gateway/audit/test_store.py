"""The writer: group commit, a chain in commit order under concurrency, several writers."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from gateway.appkeys import AUDIT_STORE
from gateway.audit.export import read_store
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.audit.verify import verify_log
from tests.conftest import Gateway
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


async def test_a_write_that_cannot_be_made_durable_fails_the_call_closed(
    gateway: Gateway,
) -> None:
    store = gateway.client.app[AUDIT_STORE]
    assert isinstance(store, SqliteAuditStore)
    with sqlite3.connect(gateway.audit_db, isolation_level=None) as db:
        db.execute("ALTER TABLE audit_events RENAME TO audit_events_away")  # the disk "fails"
        blocked = await gateway.invoke(
            "warehouse.stock.get", {"material": "100234", "plant": "1000"}
        )
        db.execute("ALTER TABLE audit_events_away RENAME TO audit_events")
    assert blocked.status == 503
    assert (await blocked.json())["code"] == "audit_unavailable"
    again = await gateway.invoke("warehouse.stock.get", {"material": "100234", "plant": "1000"})
    assert again.status == 200


async def test_start_up_uses_the_checkpoint_frontier_and_distrusts_a_bad_one(
    tmp_path: Path,
) -> None:
    key = signer()
    path = tmp_path / "audit.sqlite"
    for start, spoil in ((0, False), (3, True), (6, False)):
        if spoil:  # a frontier that does not fold to the signed root is ignored
            with sqlite3.connect(path) as db:
                db.execute(
                    'UPDATE audit_checkpoints SET frontier = \'{"size":3,"hashes":'
                    '["' + "00" * 32 + '","' + "11" * 32 + "\"]}'"
                )
        store = SqliteAuditStore(path, key)
        await store.open()
        for i in range(start, start + 3):
            await store.append(event(i))
        await store.close()
    report = verify_log(read_store(path), [key.public_key])
    assert report.ok, report.summary()
    assert report.entries == 9


async def test_text_that_is_not_unicode_is_recorded_as_replacement_characters(
    tmp_path: Path,
) -> None:
    """A lone surrogate (what Python makes of bytes that are not UTF-8) cannot be
    encoded; the event is recorded with U+FFFD in its place instead of failing the call."""
    key = signer()
    path = tmp_path / "audit.sqlite"
    store = SqliteAuditStore(path, key)
    await store.open()
    hostile = event(0).model_copy(
        update={"operation": "x\udcffy", "on_behalf_of": "\ud800", "input": {"k\udc85": ["\udfff"]}}
    )
    entry = await store.append(hostile)
    [stored] = await store.query(request_id=hostile.request_id)
    await store.close()

    assert entry.event["operation"] == "x\ufffdy"
    assert (stored.operation, stored.on_behalf_of) == ("x\ufffdy", "\ufffd")
    [(name, value)] = stored.input.items()
    assert name.startswith("k\ufffd")
    assert name.encode("utf-8")  # no lone surrogate left
    assert value == ["\ufffd"]
    report = verify_log(read_store(path), [key.public_key])
    assert report.ok, report.summary()
