"""Audit store throughput: sealed appends per second at several concurrencies, and the
cost of verifying, proving and exporting the result. Run: .venv/bin/python bench/audit_append.py
"""

from __future__ import annotations

import asyncio
import io
import logging
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from gateway.audit.export import read_store, write_jsonl
from gateway.audit.prove import inclusion_proof
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.audit.verify import verify_log
from tests.gateway.audit.helpers import event, signer


async def run(path: Path, total: int, concurrency: int) -> None:
    key = signer()
    store = SqliteAuditStore(path, key, checkpoint_every_events=1000)
    await store.open()
    events = [event(i) for i in range(total)]
    queue = iter(events)

    async def client() -> None:
        for e in queue:
            await store.append(e)

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    commits = store.commits
    await store.close()
    print(
        f"concurrency {concurrency:>3}: {total / elapsed:8.0f} appends/s, "
        f"{commits} commits ({total / commits:.1f} events per fsync)"
    )
    if concurrency == 64:
        started = time.perf_counter()
        snapshot = read_store(path)
        report = verify_log(snapshot, [key.public_key])
        print(
            f"verify {report.entries} entries: {time.perf_counter() - started:.2f} s ({report.ok})"
        )
        db = sqlite3.connect(path)
        started = time.perf_counter()
        inclusion_proof(db, f"req_{total // 2:04d}")
        print(
            f"inclusion proof in a log of {total}: {(time.perf_counter() - started) * 1000:.0f} ms"
        )
        started = time.perf_counter()
        write_jsonl(snapshot, io.StringIO())
        print(f"export jsonl: {time.perf_counter() - started:.2f} s")


def main() -> None:
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))
    with tempfile.TemporaryDirectory() as tmp:
        for concurrency in (1, 8, 64):
            asyncio.run(run(Path(tmp) / f"audit-{concurrency}.sqlite", 5000, concurrency))


if __name__ == "__main__":
    main()
