"""``lastmile audit``: read the audit trail (list, tail, search, show, export).

The integrity commands (verify, prove, check-proof, public-key, prune, migrate, writers)
live in :mod:`gateway.commands.audit_integrity`. Every command reads the log through a
:class:`gateway.audit.reader.LogReader`: the SQLite file named by ``--store``, or the
store the config names (``audit.path``, or PostgreSQL with ``audit.store: postgres``);
text output escapes untrusted values.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from gateway.audit import render
from gateway.audit.reader import LogReader, SqliteReader, open_log_reader
from gateway.audit.store import AuditQuery
from gateway.commands import audit_integrity
from gateway.config import load_config
from schemas.audit import AuditEvent


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="read and verify the audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    listing = audit.add_parser("list", help="print audit events as JSON lines, oldest first")
    add_store_arguments(listing)
    listing.add_argument("--request-id")
    listing.add_argument("--agent")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(run=_audit_list)

    tail = audit.add_parser("tail", help="the latest events, one line each")
    add_store_arguments(tail)
    tail.add_argument("-n", "--lines", type=int, default=20)
    tail.add_argument("--follow", "-f", action="store_true", help="keep printing new events")
    tail.add_argument("--json", action="store_true", help="JSON lines instead of text")
    tail.set_defaults(run=_tail)

    search = audit.add_parser("search", help="events matching every given filter")
    add_store_arguments(search)
    for name in ("agent", "owner", "operation", "decision", "outcome", "kind", "request-id"):
        search.add_argument(f"--{name}")
    search.add_argument("--since", type=datetime.fromisoformat, help="ISO time, inclusive")
    search.add_argument("--until", type=datetime.fromisoformat, help="ISO time, exclusive")
    search.add_argument("--limit", type=int, default=100)
    search.add_argument("--json", action="store_true", help="JSON lines instead of text")
    search.set_defaults(run=_search)

    show = audit.add_parser("show", help="one call's full story")
    add_store_arguments(show)
    show.add_argument("request_id")
    show.add_argument("--json", action="store_true")
    show.set_defaults(run=_show)

    export = audit.add_parser("export", help="the whole log, with what verify needs")
    add_store_arguments(export)
    export.add_argument("--format", choices=("jsonl", "csv"), default="jsonl")
    export.add_argument("--out", type=Path, help="file to write (default: standard output)")
    export.set_defaults(run=_export)

    audit_integrity.add_parsers(audit)
    for parser in audit.choices.values():
        parser.set_defaults(run=_guarded(parser.get_default("run")))


def _guarded(run: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """Store, key and export problems end the command with one line and exit code 2."""

    def guarded(args: argparse.Namespace) -> int:
        from gateway.audit.export import ExportError
        from gateway.audit.signing import SigningKeyError
        from gateway.audit.sqlite_log import StoreLayoutError
        from schemas.errors import AuditUnavailable

        try:
            return run(args)
        except (
            StoreLayoutError,
            SigningKeyError,
            ExportError,
            sqlite3.Error,
            AuditUnavailable,
        ) as exc:
            print(f"lastmile audit {args.audit_command}: {exc}", file=sys.stderr)
            return 2

    return guarded


def add_store_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", type=Path, help="gateway.yaml whose audit.path to read")
    parser.add_argument("--store", type=Path, help="the SQLite audit store (overrides --config)")


def store_path(args: argparse.Namespace) -> Path:
    if getattr(args, "store", None) is not None:
        return Path(args.store)
    return Path(load_config(args.config).audit.path)


def open_reader(args: argparse.Namespace) -> LogReader:
    """The log ``--store`` names (a SQLite file), else the one the config's ``audit:``
    section names: ``audit.path`` or, with ``store: postgres``, the shared database."""
    if getattr(args, "store", None) is not None:
        return SqliteReader(Path(args.store))
    return open_log_reader(load_config(args.config))


def _audit_list(args: argparse.Namespace) -> int:
    """Read-only, like every reading command: it never opens the store as a writer."""
    query = AuditQuery(
        request_id=args.request_id, agent_id=args.agent, limit=args.limit, descending=True
    )
    reader = open_reader(args)
    try:
        entries = reader.search(query)
    finally:
        reader.close()
    for entry in reversed(entries):
        print(AuditEvent.model_validate(entry.event).model_dump_json())
    return 0


def _print(entries: list[dict[str, object]], as_json: bool) -> None:
    for entry in entries:
        print(json.dumps(entry, ensure_ascii=False) if as_json else render.line(entry))


def _tail(args: argparse.Namespace) -> int:
    reader = open_reader(args)
    try:
        latest = reader.search(AuditQuery(descending=True, limit=args.lines))
        _print([e.to_json() for e in reversed(latest)], args.json)
        after = latest[0].index if latest else -1
        while args.follow:
            sys.stdout.flush()
            time.sleep(1.0)
            new = reader.search(AuditQuery(after=after, limit=1000))
            _print([e.to_json() for e in new], args.json)
            after = new[-1].index if new else after
    except KeyboardInterrupt:
        pass
    finally:
        reader.close()
    return 0


def _search(args: argparse.Namespace) -> int:
    query = AuditQuery(
        agent_id=args.agent,
        agent_owner=args.owner,
        operation=args.operation,
        decision=args.decision,
        outcome=args.outcome,
        kind=args.kind,
        request_id=args.request_id,
        since=args.since,
        until=args.until,
        limit=args.limit,
    )
    reader = open_reader(args)
    try:
        _print([e.to_json() for e in reader.search(query)], args.json)
    finally:
        reader.close()
    return 0


def _show(args: argparse.Namespace) -> int:
    reader = open_reader(args)
    try:
        found = [s.entry.to_json() for s in reader.find_request(args.request_id)]
    finally:
        reader.close()
    if not found:
        print(f"no audit event has request id {render.safe(args.request_id)}", file=sys.stderr)
        return 1
    if args.json:
        _print(found, True)
    else:
        print("\n".join(render.story(found)))
    return 0


def _export(args: argparse.Namespace) -> int:
    from gateway.audit.export import write_csv, write_jsonl

    write = write_csv if args.format == "csv" else write_jsonl
    reader = open_reader(args)
    try:
        with reader.snapshot() as snapshot:
            if args.out is None:
                count = write(snapshot, sys.stdout)
            else:
                with args.out.open("w", encoding="utf-8", newline="") as out:
                    count = write(snapshot, out)
            checkpoints = len(snapshot.checkpoints)
    finally:
        reader.close()
    print(f"exported {count} entries and {checkpoints} checkpoints", file=sys.stderr)
    return 0
