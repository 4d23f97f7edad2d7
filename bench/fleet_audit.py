"""The fleet's audit trail on PostgreSQL, measured: appends/s with 1, 2 and 4 writer
processes against SQLite in the same run (and the two designs of docs/audit.md: one
global chain, per-writer chains); append latency at a steady 375 appends/s from 4
writers; how long until a signed checkpoint covers an event; proof time at 1k, 100k and
1M entries. Run: ``python -m bench.fleet_audit`` (writes bench/results/fleet_audit.md).

Every writer is a process of its own with 64 concurrent callers, as a gateway under load
would be. The database is created fresh on the server named by LASTMILE_TEST_POSTGRES
(default: the machine's PostgreSQL) and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import itertools
import logging
import multiprocessing
import os
import random
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import structlog

from gateway.audit import pg_log
from gateway.audit.entries import Entry, render_event, seal_rendered
from gateway.audit.pg_copy import load
from gateway.audit.pg_schema import MIGRATIONS
from gateway.audit.proofcheck import ProofError, check_proof
from gateway.audit.signing import CheckpointSigner
from gateway.audit.sqlite_log import StoredEntry
from gateway.audit.store_postgres import PostgresAuditStore
from gateway.audit.store_sqlite import SqliteAuditStore
from gateway.logs import configure_logging
from gateway.postgres import Migration, Postgres, migrate
from tests.gateway.audit.helpers import event
from tests.gateway.audit.postgres_helpers import postgres_config
from tests.postgres_db import SERVER_DSN, dsn_for

RESULTS = Path(__file__).resolve().parent / "results" / "fleet_audit.md"
CALLERS = 64
KEY = CheckpointSigner.ephemeral()


# the databases ----------------------------------------------------------------------


async def _create_database() -> str:
    name = f"lastmile_bench_{uuid.uuid4().hex[:12]}"
    server = await asyncpg.connect(SERVER_DSN)
    try:
        await server.execute(f'CREATE DATABASE "{name}"')
    finally:
        await server.close()
    return name


async def _drop_database(name: str) -> None:
    server = await asyncpg.connect(SERVER_DSN)
    try:
        await server.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await server.close()


def per_writer_migrations() -> list[Migration]:
    """Design (b) for measurement only: the same sealing function, one chain (head row
    and index sequence) per writer, so appends of different processes never share a
    lock. It leaves out the sequencer that would join the chains under a signed global
    tree, so its figure is an upper bound for that design."""
    tables, append = (m.sql for m in MIGRATIONS)
    tables = (
        tables.replace("id        SMALLINT PRIMARY KEY CHECK (id = 1),", "id TEXT PRIMARY KEY,")
        .replace("INSERT INTO audit_head VALUES (1, 0, repeat('0', 64), '{}');", "")
        .replace("seq         BIGINT PRIMARY KEY,", "seq BIGINT NOT NULL,")
        .replace(
            "writer      TEXT NOT NULL\n);", "writer TEXT NOT NULL, PRIMARY KEY (writer, seq)\n);"
        )
        .replace("hash  BYTEA NOT NULL,\n    PRIMARY KEY (level, idx)", "hash  BYTEA NOT NULL")
    )
    append = append.replace(
        "    SELECT size, audit_head.last_hash",
        "    INSERT INTO audit_head VALUES (p_writer, 0, repeat('0', 64), '{}') "
        "ON CONFLICT DO NOTHING;\n    SELECT size, audit_head.last_hash",
    ).replace("WHERE id = 1", "WHERE id = p_writer")
    return [Migration(1, MIGRATIONS[0].name, tables), Migration(2, MIGRATIONS[1].name, append)]


async def _prepare(dsn: str, design: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    try:
        await migrate(
            pool, "audit", per_writer_migrations() if design == "per-writer" else MIGRATIONS
        )
    finally:
        await pool.close()


# one writer process ------------------------------------------------------------------


def _quiet() -> None:
    """No JSON line per event on stdout (a SIEM feed is not what is measured here)."""
    configure_logging("error", io.StringIO())
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.ERROR))


async def _open_store(
    engine: str, target: str, name: str, every_s: float
) -> tuple[Any, Postgres | None]:
    if engine == "sqlite":
        store: Any = SqliteAuditStore(Path(target), KEY, checkpoint_every_s=every_s)
        await store.open()
        return store, None
    handle = Postgres(postgres_config(target))
    await handle.open()
    store = PostgresAuditStore(handle, KEY, writer=name, checkpoint_every_s=every_s)
    await store.open()
    return store, handle


async def _close(store: Any, handle: Postgres | None) -> None:
    await store.close()
    if handle is not None:
        await handle.close()


async def _flat_out(engine: str, target: str, name: str, start_at: float, seconds: float) -> int:
    """As many appends as 64 callers get through in ``seconds``."""
    store, handle = await _open_store(engine, target, name, 60.0)
    events = (event(i) for i in itertools.count())  # built per call, as the gateway does
    done = 0
    await asyncio.sleep(max(start_at - time.time(), 0))
    end = time.time() + seconds

    async def caller() -> None:
        nonlocal done
        for item in events:
            await store.append(item)
            if time.time() >= end:
                return
            done += 1

    await asyncio.gather(*(caller() for _ in range(CALLERS)))
    with contextlib.suppress(asyncpg.PostgresError):  # design (b) has no global head to sign
        await _close(store, handle)
    return done


async def _steady(
    engine: str,
    target: str,
    name: str,
    start_at: float,
    seconds: float,
    rate: float,
    every_s: float,
) -> tuple[list[float], list[float]]:
    """Appends at a fixed rate (open loop: latency from the scheduled time), and (on
    PostgreSQL) the time from each append until a signed checkpoint covers its entry."""
    store, handle = await _open_store(engine, target, name, every_s)
    latencies: list[float] = []
    coverage: list[float] = []
    waiting: list[tuple[int, float]] = []
    appended, covered = asyncio.Event(), asyncio.Event()
    await asyncio.sleep(max(start_at - time.time(), 0))
    started = time.perf_counter()
    count = int(seconds * rate)

    async def one(i: int) -> None:
        scheduled = started + i / rate
        await asyncio.sleep(max(scheduled - time.perf_counter(), 0))
        entry = await store.append(event(i))
        latencies.append(time.perf_counter() - scheduled)
        waiting.append((entry.index, scheduled))

    async def watch() -> None:
        if handle is None:
            waiting.clear()
            covered.set()
            return
        while True:
            size = await handle.pool.fetchval("SELECT max(tree_size) FROM audit_checkpoints")
            now = time.perf_counter()
            still = []
            for index, since in waiting:
                if size is not None and size > index:
                    coverage.append(now - since)
                else:
                    still.append((index, since))
            waiting[:] = still
            if appended.is_set() and not waiting:
                covered.set()
            await asyncio.sleep(0.01)

    watcher = asyncio.create_task(watch())
    await asyncio.gather(*(one(i) for i in range(count)))
    appended.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(covered.wait(), timeout=10 * every_s + 5)
    watcher.cancel()
    await _close(store, handle)
    return latencies, coverage


def _writer_process(job: Callable[..., Any], args: tuple[Any, ...], results: Any) -> None:
    _quiet()
    results.put(asyncio.run(job(*args)))


def _run_writers(job: Callable[..., Any], arg_sets: list[tuple[Any, ...]]) -> list[Any]:
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [
        context.Process(target=_writer_process, args=(job, args, results)) for args in arg_sets
    ]
    for proc in processes:
        proc.start()
    found = [results.get(timeout=600) for _ in processes]
    for proc in processes:
        proc.join()
    return found


# measurements ------------------------------------------------------------------------


def throughput(engine: str, design: str, writers: int, seconds: float = 6.0) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        if engine == "sqlite":
            target = str(Path(tmp) / "audit.sqlite")
            asyncio.run(_prime_sqlite(target))
            name = None
        else:
            name = asyncio.run(_create_database())
            target = dsn_for(name)
            asyncio.run(_prepare(target, design))
        try:
            start_at = time.time() + 3.0 + writers  # every process ready before the start
            counts = _run_writers(
                _flat_out, [(engine, target, f"w{i}", start_at, seconds) for i in range(writers)]
            )
        finally:
            if name is not None:
                asyncio.run(_drop_database(name))
    return sum(counts) / seconds


async def _prime_sqlite(path: str) -> None:
    store = SqliteAuditStore(Path(path), KEY)
    await store.open()
    await store.close()


def steady(
    engine: str = "postgres",
    writers: int = 4,
    rate: float = 375.0,
    seconds: float = 20.0,
    every_s: float = 0.5,
) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        name = None
        if engine == "sqlite":
            target = str(Path(tmp) / "audit.sqlite")
            asyncio.run(_prime_sqlite(target))
        else:
            name = asyncio.run(_create_database())
            target = dsn_for(name)
            asyncio.run(_prepare(target, "global"))
        try:
            start_at = time.time() + 3.0 + writers
            per_writer = rate / writers
            found = _run_writers(
                _steady,
                [
                    (engine, target, f"w{i}", start_at, seconds, per_writer, every_s)
                    for i in range(writers)
                ],
            )
        finally:
            if name is not None:
                asyncio.run(_drop_database(name))
    latencies = sorted(x for lat, _ in found for x in lat)
    coverage = sorted(x for _, cov in found for x in cov)
    return {
        "appends": len(latencies),
        "p50_ms": _pct(latencies, 50) * 1000,
        "p99_ms": _pct(latencies, 99) * 1000,
        "covered": len(coverage),
        "cover_p50_s": _pct(coverage, 50),
        "cover_p99_s": _pct(coverage, 99),
    }


def _pct(values: list[float], p: float) -> float:
    if not values:
        return float("nan")
    return values[min(len(values) - 1, int(len(values) * p / 100))]


# proofs at size ------------------------------------------------------------------------


def synthetic_entries(count: int) -> Iterator[StoredEntry]:
    """``count`` sealed entries of one real event shape, made fast: the event is rendered
    once and its ids (fixed width) are substituted, which keeps the JSON canonical."""
    template = render_event(
        event(0).model_copy(update={"event_id": "e" * 32, "request_id": "req_" + "r" * 12})
    )
    prev = "0" * 64
    for i in range(count):
        rendered = template.replace(b"e" * 32, f"{i:032x}".encode()).replace(
            b"r" * 12, f"{i:012d}".encode()
        )
        entry: Entry = seal_rendered(i, prev, rendered)
        prev = entry.leaf_hash
        yield StoredEntry(entry, None)


async def proofs_at(size: int, samples: int = 200) -> dict[str, float]:
    name = await _create_database()
    try:
        dsn = dsn_for(name)
        handle = Postgres(postgres_config(dsn))
        await handle.open()
        try:
            await migrate(handle.pool, "audit", MIGRATIONS)
            started = time.perf_counter()
            async with handle.pool.acquire() as db:
                await load(db, synthetic_entries(size), [], None, writer="bench")
            load_s = time.perf_counter() - started
            store = PostgresAuditStore(handle, KEY, writer="bench")
            first = await store.checkpoint()
            assert first is not None
            for i in range(7):  # later checkpoints to prove consistency against
                await store.append(event(size + i))
                await store.checkpoint()
            sizes = [int(c["tree_size"]) for c in await _checkpoints(handle)]
            rng = random.Random(size)  # noqa: S311 - which requests to prove, not secrets
            inclusion, consistency = [], []
            for _ in range(samples):
                request_id = f"req_{rng.randrange(size):012d}"
                t = time.perf_counter()
                proof = await store.inclusion_proof(request_id)
                inclusion.append(time.perf_counter() - t)
                a, b = sorted(rng.sample(sizes, 2))
                t = time.perf_counter()
                other = await store.consistency_proof(a, b)
                consistency.append(time.perf_counter() - t)
            for document in (proof, other):  # the last of each, checked by the RFC verifier
                try:
                    check_proof(document, [KEY.public_key])
                except ProofError as exc:
                    raise SystemExit(f"a proof at size {size} does not verify: {exc}") from None
        finally:
            await handle.close()
    finally:
        await _drop_database(name)
    inclusion.sort()
    consistency.sort()
    return {
        "load_s": load_s,
        "incl_p50_ms": _pct(inclusion, 50) * 1000,
        "incl_p99_ms": _pct(inclusion, 99) * 1000,
        "cons_p50_ms": _pct(consistency, 50) * 1000,
        "cons_p99_ms": _pct(consistency, 99) * 1000,
    }


async def _checkpoints(handle: Postgres) -> list[dict[str, Any]]:
    async with handle.pool.acquire() as db:
        return await pg_log.read_checkpoints(db)


# the report --------------------------------------------------------------------------


def main() -> None:
    _quiet()
    sizes = [int(s) for s in os.environ.get("FLEET_PROOF_SIZES", "1000,100000,1000000").split(",")]
    lines = [
        "# Fleet audit trail on PostgreSQL",
        "",
        f"Run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC on {os.cpu_count()} cores "
        f"(load average {os.getloadavg()[0]:.1f} at the start: the machine is shared; "
        "PostgreSQL and every writer process on the same machine). "
        f"Each writer: one process, {CALLERS} concurrent callers, group commit.",
        "",
        "## Appends per second",
        "",
        "| store | 1 writer | 2 writers | 3 writers | 4 writers |",
        "|---|---:|---:|---:|---:|",
    ]
    rows = [
        ("sqlite", "global", "SQLite, one file (shared by the processes)"),
        ("postgres", "global", "PostgreSQL, one global chain (shipped)"),
        ("postgres", "per-writer", "PostgreSQL, per-writer chains (design b, no sequencer)"),
    ]
    for engine, design, label in rows:
        cells = []
        for writers in (1, 2, 3, 4):
            rate = throughput(engine, design, writers)
            print(f"{label}: {writers} writers {rate:,.0f}/s", file=sys.stderr)
            cells.append(f"{rate:,.0f}")
        lines.append(f"| {label} | {' | '.join(cells)} |")
    result = steady()
    local = steady("sqlite")
    print(result, local, file=sys.stderr)
    lines += [
        "",
        "## Steady load: 375 appends/s from 4 writer processes (checkpoints every 0.5 s)",
        "",
        "| store | appends | append p50 | append p99 | signed checkpoint covers it p50 | p99 |",
        "|---|---:|---:|---:|---:|---:|",
        f"| PostgreSQL | {result['appends']:,.0f} | {result['p50_ms']:.1f} ms "
        f"| {result['p99_ms']:.1f} ms | {result['cover_p50_s']:.2f} s "
        f"| {result['cover_p99_s']:.2f} s |",
        f"| SQLite, one file | {local['appends']:,.0f} | {local['p50_ms']:.1f} ms "
        f"| {local['p99_ms']:.1f} ms | | |",
        "",
        "Latency is measured from each append's scheduled time (open loop). Coverage is the "
        "time from an append's scheduled time until a writer observes a signed checkpoint "
        "whose tree contains the entry (polled every 10 ms).",
        "",
        "## Proofs from stored subtrees (200 random requests / checkpoint pairs per size)",
        "",
        "| entries | bulk load | inclusion p50 | p99 | consistency p50 | p99 |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for size in sizes:
        proof = asyncio.run(proofs_at(size))
        print(size, proof, file=sys.stderr)
        lines.append(
            f"| {size:,} | {proof['load_s']:.1f} s | {proof['incl_p50_ms']:.2f} ms "
            f"| {proof['incl_p99_ms']:.2f} ms | {proof['cons_p50_ms']:.2f} ms "
            f"| {proof['cons_p99_ms']:.2f} ms |"
        )
    lines += [
        "",
        "Targets (issue 12): >= 10,000 appends/s with 4 writers; append p99 <= 25 ms at "
        "375 appends/s with 4 writers; an event covered by a signed checkpoint within 2 s "
        "(p99); inclusion and consistency proofs <= 10 ms p99 at 1M entries.",
        "",
    ]
    RESULTS.write_text("\n".join(lines))
    print(RESULTS.read_text())


if __name__ == "__main__":
    main()
