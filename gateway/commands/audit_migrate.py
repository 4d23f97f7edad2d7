"""``lastmile audit migrate`` (a SQLite trail into the fleet's PostgreSQL log) and
``lastmile audit writers`` (which processes appended, and their last checkpoint).

A migration copies entries, checkpoints and the pruning anchor verbatim, so every old
hash and signature still verifies. It refuses a trail that does not verify and a
PostgreSQL log that is not empty, and ends by proving the copy: the tree head folded
from the SQLite file, and the one PostgreSQL's stored nodes give at the same size, are
printed side by side, and the copy is verified end to end like any PostgreSQL log.
"""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path

from gateway.config import load_config


def add_parsers(audit: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    migrate = audit.add_parser(
        "migrate", help="copy a SQLite audit trail into the PostgreSQL log and prove the copy"
    )
    migrate.add_argument("--from", dest="source", type=Path, required=True, help="SQLite trail")
    migrate.add_argument("--config", type=Path, help="gateway.yaml with audit.store: postgres")
    migrate.add_argument(
        "--public-key", action="append", default=[], help="trusted key for the old trail"
    )
    migrate.set_defaults(run=_migrate)

    writers = audit.add_parser("writers", help="the processes that appended to the log")
    writers.add_argument("--config", type=Path)
    writers.add_argument("--store", type=Path, help=argparse.SUPPRESS)
    writers.set_defaults(run=_writers)


def _migrate(args: argparse.Namespace) -> int:
    from gateway.audit import sqlite_log
    from gateway.audit.export import store_snapshot
    from gateway.audit.signing import parse_public_key
    from gateway.audit.verify import verify_log

    config = load_config(args.config)
    if config.audit.store != "postgres" or config.postgres is None:
        print("lastmile audit migrate: the config's audit.store is not postgres")
        return 2
    trusted = [parse_public_key(k) for k in args.public_key] or None
    with store_snapshot(args.source) as snapshot:
        report = verify_log(snapshot, trusted)
    print(f"sqlite   {args.source}: {report.summary()}")
    if not report.ok:
        print("refusing to copy a trail that does not verify")
        return 1
    db = sqlite_log.connect(args.source, create=False)
    try:
        head = sqlite_log.load_head(db)
    finally:
        db.close()
    print(f"sqlite   tree head: size {head.size} root {head.frontier.root().hex()}")
    copied = asyncio.run(_copy(args.source, config.postgres, trusted))
    if copied is None:
        return 1
    size, root, summary, ok = copied
    print(f"postgres tree head: size {size} root {root}")
    print(f"postgres {summary}")
    same = ok and size == head.size and root == head.frontier.root().hex()
    print("OK: the copy verifies to the same tree head" if same else "FAILED: the copy differs")
    return 0 if same else 1


async def _copy(
    source: Path, postgres_config: object, trusted: list[bytes] | None
) -> tuple[int, str, str, bool] | None:
    from gateway.audit import pg_log
    from gateway.audit.export import store_snapshot
    from gateway.audit.pg_copy import NotEmpty, load
    from gateway.audit.pg_schema import MIGRATIONS
    from gateway.audit.verify import verify_log
    from gateway.config.fleet import PostgresConfig
    from gateway.postgres import migrate
    from gateway.postgres.pool import open_pool

    assert isinstance(postgres_config, PostgresConfig)  # noqa: S101 - checked by the caller
    pool = await open_pool(postgres_config)
    try:
        await migrate(pool, "audit", MIGRATIONS)
        with store_snapshot(source) as snapshot:
            try:
                async with pool.acquire() as db:
                    loaded = await load(
                        db,
                        snapshot.entries,
                        snapshot.checkpoints,
                        snapshot.anchor,
                        writer=f"migrated:{source.name}",
                    )
            except NotEmpty as exc:
                print(f"lastmile audit migrate: {exc}; nothing copied")
                return None
        print(f"copied {loaded.entries} entries and {loaded.checkpoints} checkpoints")
        async with pool.acquire() as db:
            size, root = await pg_log.stored_tree_head(db)
        loop = asyncio.get_running_loop()
        async with pg_log.snapshot(pool) as copy:
            report = await loop.run_in_executor(None, verify_log, copy, trusted)
        return size, root.hex(), report.summary(), report.ok
    finally:
        await pool.close()


def _writers(args: argparse.Namespace) -> int:
    from gateway.commands.audit import open_reader

    reader = open_reader(args)
    try:
        for writer in reader.writers():
            print(json.dumps(writer))
    finally:
        reader.close()
    return 0
