"""The PostgreSQL audit store against the real server: one chain however many writers,
the SQLite entry format, proofs from stored nodes that read O(log n) rows and pass the
RFC 9162 verifier, search, retention."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from gateway.audit import pg_log
from gateway.audit.entries import seal
from gateway.audit.proofcheck import ZERO_HASH, check_proof
from gateway.audit.prove import ProofUnavailable
from gateway.audit.retention import prune
from gateway.audit.store import AuditQuery
from gateway.audit.store_postgres import PostgresAuditStore
from schemas.audit import Decision
from schemas.errors import AuditUnavailable
from tests.cuttable_proxy import CuttableProxy
from tests.gateway.audit.helpers import T0, event, signer
from tests.gateway.audit.postgres_helpers import pg_store, postgres, read_all, verify_pg
from tests.postgres_db import postgres_dsn

__all__ = ["postgres_dsn"]


async def test_entries_are_sealed_byte_for_byte_as_sqlite_seals_them(postgres_dsn: str) -> None:
    key = signer()
    events = [event(i) for i in range(5)]
    async with postgres(postgres_dsn) as handle, pg_store(handle, key) as store:
        appended = [await store.append(e) for e in events]
        stored = (await read_all(handle)).entries
    prev = ZERO_HASH
    for i, (e, entry, row) in enumerate(zip(events, appended, stored, strict=True)):
        expected = seal(i, prev, e)
        assert entry == expected  # what the caller got back
        assert row.entry == expected  # what the server stored, sealed inside the server
        prev = expected.leaf_hash


async def test_concurrent_appends_share_commits_verify_and_prove(postgres_dsn: str) -> None:
    key = signer()
    async with postgres(postgres_dsn) as handle, pg_store(handle, key, every=16) as store:
        first = await asyncio.gather(*(store.append(event(i)) for i in range(20)))
        early = await store.checkpoint()
        second = await asyncio.gather(*(store.append(event(i)) for i in range(20, 50)))
        assert store.commits < 50  # group commit: fewer transactions than events
        latest = await store.checkpoint()
        inclusion = await store.inclusion_proof("req_0013")
        consistency = await store.consistency_proof(20, None)
        assert await store.latest_checkpoint() == latest
    assert sorted(e.index for e in first + second) == list(range(50))
    assert early is not None
    assert early["tree_size"] == 20
    assert latest is not None
    assert latest["tree_size"] == 50
    assert "entry 13 of the log whose checkpoint at size 50" in check_proof(
        inclusion, [key.public_key]
    )
    assert consistency["first"] == early
    assert consistency["second"] == latest
    assert "extends the one at size 20" in check_proof(consistency, [key.public_key])
    async with postgres(postgres_dsn) as handle:
        report = await verify_pg(handle, key)
    assert report.ok, report.summary()
    assert (report.entries, report.unanchored) == (50, 0)


async def test_a_proof_for_an_uncheckpointed_or_unknown_request_is_refused(
    postgres_dsn: str,
) -> None:
    key = signer()
    async with postgres(postgres_dsn) as handle, pg_store(handle, key) as store:
        await store.append(event(1))
        with pytest.raises(ProofUnavailable, match="newer than the latest signed checkpoint"):
            await store.inclusion_proof("req_0001")
        with pytest.raises(ProofUnavailable, match="no audit event"):
            await store.inclusion_proof("req_9999")
        await store.checkpoint()
        with pytest.raises(ProofUnavailable, match="no signed checkpoint at size 7"):
            await store.consistency_proof(7, None)


class CountingDb:
    """A real connection that counts the statements sent and the rows that come back."""

    def __init__(self, db: Any) -> None:
        self.db, self.queries, self.rows = db, 0, 0

    async def fetch(self, *args: Any) -> Any:
        found = await self.db.fetch(*args)
        self.queries, self.rows = self.queries + 1, self.rows + len(found)
        return found

    async def fetchrow(self, *args: Any) -> Any:
        found = await self.db.fetchrow(*args)
        self.queries, self.rows = self.queries + 1, self.rows + 1 + len(found["at"])
        return found


async def _proof_reads(store: Any, handle: Any, request_id: str, first: int) -> list[int]:
    counts = []
    async with handle.pool.acquire() as db:
        for make in (
            lambda c: pg_log.inclusion_proof(c, request_id),
            lambda c: pg_log.consistency_proof(c, first, None),
        ):
            counting = CountingDb(db)
            proof = await make(counting)
            check_proof(proof, [store.signer.public_key])
            counts.append(counting.rows)
            assert counting.queries == 2  # round trips, whatever the size
    return counts


async def test_proofs_read_a_logarithmic_number_of_rows(postgres_dsn: str) -> None:
    key = signer()
    reads = {}
    async with postgres(postgres_dsn) as handle, pg_store(handle, key) as store:
        total = 0
        for size in (64, 2048):
            await asyncio.gather(*(store.append(event(i)) for i in range(total, size - 3)))
            await store.checkpoint()
            await asyncio.gather(*(store.append(event(i)) for i in range(size - 3, size)))
            await store.checkpoint()
            reads[size] = await _proof_reads(store, handle, f"req_{size // 3:04d}", size - 3)
            total = size
    for size, (inclusion, consistency) in reads.items():
        bound = 2 * size.bit_length() + 4  # the proof's nodes, the entry, the checkpoints
        assert inclusion <= bound, (size, reads)
        assert consistency <= bound, (size, reads)
    # 32 times the entries, a handful more rows read
    assert reads[2048][0] - reads[64][0] <= 12, reads
    assert reads[2048][1] - reads[64][1] <= 12, reads


async def test_writers_appending_at_once_make_one_chain_with_every_event_once(
    postgres_dsn: str,
) -> None:
    key = signer()  # the fleet's one signing key, configured in every process

    async def writer(name: str, offset: int) -> None:
        async with postgres(postgres_dsn) as handle, pg_store(handle, key, writer=name) as store:
            await asyncio.gather(*(store.append(event(offset + i)) for i in range(60)))
            await store.checkpoint()

    await asyncio.gather(*(writer(f"host-{n}:1", n * 1000) for n in range(3)))
    async with postgres(postgres_dsn) as handle:
        report = await verify_pg(handle, key)
        snapshot = await read_all(handle)
        async with handle.pool.acquire() as db:
            writers = await pg_log.writers(db)
            by_writer = await db.fetch("SELECT writer, count(*) FROM audit_events GROUP BY writer")
    assert report.ok, report.summary()
    assert report.entries == 180
    assert report.unanchored == 0
    request_ids = [s.entry.event["request_id"] for s in snapshot.entries]
    assert sorted(request_ids) == sorted(
        f"req_{n * 1000 + i:04d}" for n in range(3) for i in range(60)
    )
    assert {row["writer"]: row["count"] for row in by_writer} == {
        f"host-{n}:1": 60 for n in range(3)
    }
    assert [(w["writer"], w["appended"]) for w in writers] == [
        (f"host-{n}:1", 60) for n in range(3)
    ]
    assert all(w["covered_by_checkpoint"] is not None for w in writers)


async def test_search_filters_pages_and_orders_like_sqlite(postgres_dsn: str) -> None:
    key = signer()
    async with postgres(postgres_dsn) as handle, pg_store(handle, key) as store:
        for i in range(12):
            e = event(i, agent="replenishment-bot" if i % 3 == 0 else "inventory-bot")
            if i == 5:
                e = e.model_copy(update={"decision": Decision.DENY, "outcome": "forbidden"})
            await store.append(e)
        by_agent = await store.search(AuditQuery(agent_id="replenishment-bot"))
        denied = await store.search(AuditQuery(decision="deny", outcome="forbidden"))
        window = await store.search(
            AuditQuery(since=T0 + timedelta(minutes=2), until=T0 + timedelta(minutes=4))
        )
        page = await store.search(AuditQuery(after=8, limit=2))
        newest = await store.search(AuditQuery(descending=True, limit=3))
        older = await store.search(AuditQuery(descending=True, after=9, limit=2))
        story = await store.query(request_id="req_0007")
    assert [e.index for e in by_agent] == [0, 3, 6, 9]
    assert [e.event["request_id"] for e in denied] == ["req_0005"]
    assert [e.index for e in window] == [2, 3]
    assert [e.index for e in page] == [9, 10]
    assert [e.index for e in newest] == [11, 10, 9]
    assert [e.index for e in older] == [8, 7]
    assert [e.request_id for e in story] == ["req_0007"]


async def test_retention_prunes_a_prefix_and_the_rest_still_verifies_and_proves(
    postgres_dsn: str,
) -> None:
    key = signer()
    async with postgres(postgres_dsn) as handle, pg_store(handle, key, every=4) as store:
        for i in range(10):  # T0 + i minutes
            await store.append(event(i))
        result = await prune(store, T0 + timedelta(minutes=6), actor="test")
        await store.checkpoint()
        kept = await store.inclusion_proof("req_0008")
        consistency = await store.consistency_proof(6, None)
        with pytest.raises(ProofUnavailable, match="no audit event"):
            await store.inclusion_proof("req_0002")
        again = await prune(store, T0 + timedelta(minutes=6), actor="test")
    assert result is not None
    assert (result.start, result.end, result.removed) == (0, 6, 6)
    assert again is None
    check_proof(kept, [key.public_key])
    check_proof(consistency, [key.public_key])
    async with postgres(postgres_dsn) as handle:
        report = await verify_pg(handle, key)
        snapshot = await read_all(handle)
    assert report.ok, report.summary()
    assert report.first_index == 6
    assert report.entries == 5
    assert snapshot.entries[-1].entry.event["operation"] == "admin.audit_prune"


async def test_pruning_refuses_a_log_that_does_not_verify(postgres_dsn: str) -> None:
    key = signer()
    async with postgres(postgres_dsn) as handle, pg_store(handle, key) as store:
        for i in range(4):
            await store.append(event(i))
        await handle.pool.execute(
            "UPDATE audit_events SET entry = replace(entry, '\"ok\"', '\"no\"') WHERE seq = 1"
        )
        from gateway.audit.retention import PruneRefused

        with pytest.raises(PruneRefused, match="entry 1"):
            await prune(store, T0 + timedelta(minutes=3), actor="test")
        assert await handle.pool.fetchval("SELECT count(*) FROM audit_events") == 4


async def test_an_unreachable_server_fails_appends_closed_and_the_store_recovers(
    postgres_dsn: str,
) -> None:
    key = signer()
    relay = CuttableProxy.before(postgres_dsn)
    await relay.start()
    through = relay.dsn(postgres_dsn)
    try:
        async with postgres(through, connect_timeout=2.0, statement_timeout=2.0) as handle:
            store = PostgresAuditStore(handle, key, writer="cut:1")
            await store.open()
            await asyncio.gather(*(store.append(event(i)) for i in range(3)))
            relay.cut()
            for i in (3, 4):  # a dead session, then a refused connect: both fail closed
                with pytest.raises(AuditUnavailable):
                    await asyncio.wait_for(store.append(event(i)), timeout=60)
            with pytest.raises(AuditUnavailable):
                await store.checkpoint()
            relay.restore()
            entries = await asyncio.gather(*(store.append(event(i)) for i in range(5, 8)))
            await store.close()
    finally:
        await relay.close()
    assert [e.index for e in entries] == [3, 4, 5]  # the chain goes on from the stored head
    async with postgres(postgres_dsn) as direct:
        report = await verify_pg(direct, key)
        stored = await direct.pool.fetch("SELECT request_id FROM audit_events ORDER BY seq")
    assert report.ok, report.summary()
    # nothing half-written: the refused events are absent, every acknowledged one present
    assert [r["request_id"] for r in stored] == [f"req_{i:04d}" for i in (0, 1, 2, 5, 6, 7)]
