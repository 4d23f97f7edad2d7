"""The ``lastmile`` command: serve, demo, check-config, keys, sandbox, audit."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web

from gateway.config import ConfigError, load_config
from gateway.identity import hash_key, new_key
from gateway.registry import RegistryError, build_registry


def _serve(args: argparse.Namespace) -> int:
    from gateway.app import build_app
    from gateway.logs import configure_logging

    config = load_config(args.config)
    configure_logging(config.logging.level)
    app = build_app(config)
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    web.run_app(app, host=host, port=port, access_log=None, print=None)
    return 0


def _demo(args: argparse.Namespace) -> int:
    from gateway.demo import run_demo

    return asyncio.run(run_demo(keep_running=args.keep_running))


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    registry = build_registry(config)
    source = args.file or "the embedded default config"
    print(
        f"{source}: OK ({len(config.backends)} backend(s), {len(registry.operations)} "
        f"operation(s), {len(config.agents)} agent(s))"
    )
    return 0


def _keys_new(args: argparse.Namespace) -> int:
    key = new_key()
    print(f"key:        {key}")
    print(f"key_sha256: {hash_key(key)}")
    print("Give the key to the agent once; put only key_sha256 in gateway.yaml.", file=sys.stderr)
    return 0


def _keys_hash(args: argparse.Namespace) -> int:
    key = sys.stdin.readline().strip()
    if not key:
        print("lastmile keys hash: read no key on standard input", file=sys.stderr)
        return 2
    print(hash_key(key))
    return 0


def _sandbox(args: argparse.Namespace) -> int:
    from sandbox import acme_warehouse

    print(f"ACME WMS sandbox on http://127.0.0.1:{args.port} (data in {args.db})")
    web.run_app(acme_warehouse.create_app(args.db), host="127.0.0.1", port=args.port, print=None)
    return 0


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


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="lastmile", description="A guarded gateway between AI agents and systems of record."
    )
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the gateway")
    serve.add_argument("--config", type=Path, help="gateway.yaml (default: the embedded one)")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)
    serve.set_defaults(run=_serve)

    demo = commands.add_parser("demo", help="play a scripted agent session on loopback")
    demo.add_argument("--keep-running", action="store_true", help="stay up and print curl lines")
    demo.set_defaults(run=_demo)

    check = commands.add_parser("check-config", help="validate a gateway.yaml and its adapters")
    check.add_argument("file", type=Path, nargs="?", help="default: the embedded config")
    check.set_defaults(run=_check_config)

    keys = commands.add_parser("keys", help="make and hash agent API keys").add_subparsers(
        dest="keys_command", required=True
    )
    keys.add_parser("new", help="print a new key and its hash").set_defaults(run=_keys_new)
    keys.add_parser("hash", help="hash a key read from stdin").set_defaults(run=_keys_hash)

    sandbox = commands.add_parser("sandbox", help="run the ACME WMS sandbox system")
    sandbox.add_argument("--port", type=int, default=8081)
    sandbox.add_argument("--db", type=Path, default=Path("acme_wms.sqlite"))
    sandbox.set_defaults(run=_sandbox)

    audit = commands.add_parser("audit", help="read the audit trail").add_subparsers(
        dest="audit_command", required=True
    )
    listing = audit.add_parser("list", help="print audit events as JSON lines, oldest first")
    listing.add_argument("--config", type=Path)
    listing.add_argument("--request-id")
    listing.add_argument("--agent")
    listing.add_argument("--limit", type=int, default=100)
    listing.set_defaults(run=_audit_list)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigError as exc:
        print("\n".join(exc.problems), file=sys.stderr)
        return 2
    except RegistryError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
