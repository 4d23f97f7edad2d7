"""``lastmile audit``: read the audit trail."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from gateway.config import load_config


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = commands.add_parser("audit", help="read the audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    listing = audit.add_parser("list", help="print audit events as JSON lines, oldest first")
    listing.add_argument("--config", type=Path)
    listing.add_argument("--request-id")
    listing.add_argument("--agent")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(run=_audit_list)


def _audit_list(args: argparse.Namespace) -> int:
    from gateway.audit.store_sqlite import SqliteAuditStore

    async def run() -> int:
        config = load_config(args.config)
        store = SqliteAuditStore(Path(config.audit.path))
        await store.open()
        try:
            events = await store.query(
                request_id=args.request_id, agent_id=args.agent, limit=args.limit
            )
        finally:
            await store.close()
        for event in events:
            print(event.model_dump_json())
        return 0

    return asyncio.run(run())
