"""``lastmile audit verify | prove | prove-consistency | check-proof | public-key | prune``."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from gateway.config import Config, load_config


def add_parsers(audit: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from gateway.commands.audit import add_store_arguments

    verify = audit.add_parser("verify", help="check the chain, Merkle roots and signatures")
    add_store_arguments(verify)
    verify.add_argument("--export", type=Path, help="verify an export file instead of a store")
    _trust_arguments(verify)
    verify.add_argument(
        "--checkpoint",
        type=Path,
        action="append",
        default=[],
        help="a checkpoint kept earlier (JSON file); the log must still contain its tree",
    )
    verify.add_argument(
        "--require-checkpointed",
        action="store_true",
        help="fail if entries after the last signed checkpoint exist",
    )
    verify.set_defaults(run=_verify)

    prove = audit.add_parser("prove", help="an inclusion proof for one request (JSON)")
    add_store_arguments(prove)
    prove.add_argument("request_id")
    prove.set_defaults(run=_prove)

    consistency = audit.add_parser(
        "prove-consistency", help="a proof that a later checkpoint extends an earlier one"
    )
    add_store_arguments(consistency)
    consistency.add_argument("first", type=int, help="tree size of the earlier checkpoint")
    consistency.add_argument("second", type=int, nargs="?", help="later size (default: latest)")
    consistency.set_defaults(run=_prove_consistency)

    check = audit.add_parser("check-proof", help="check a proof document from `prove`")
    check.add_argument("file", type=Path, help="the proof JSON ('-' for standard input)")
    check.add_argument("--config", type=Path, help="trust the key configured here")
    _trust_arguments(check)
    check.set_defaults(run=_check_proof)

    public = audit.add_parser("public-key", help="print the checkpoint signing public key")
    public.add_argument("--config", type=Path)
    public.set_defaults(run=_public_key)

    prune = audit.add_parser("prune", help="remove events older than N days (recorded)")
    prune.add_argument("--config", type=Path)
    prune.add_argument("--older-than-days", type=int, required=True)
    prune.add_argument("--actor", default="cli", help="who is pruning (for the admin event)")
    prune.set_defaults(run=_prune)

    from gateway.commands import audit_migrate

    audit_migrate.add_parsers(audit)


def _trust_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--public-key",
        action="append",
        default=[],
        help="a trusted Ed25519 public key (base64 or a PEM/key file); repeatable",
    )


def _trusted(args: argparse.Namespace, config: Config | None) -> list[bytes] | None:
    from gateway.audit.signing import configured_public_key, parse_public_key

    if args.public_key:
        return [parse_public_key(value) for value in args.public_key]
    if config is not None:
        key = configured_public_key(config.audit.checkpoints)
        return [key] if key is not None else None
    return None


def _verify(args: argparse.Namespace) -> int:
    from gateway.audit.export import ExportError, read_export
    from gateway.audit.sqlite_log import StoreLayoutError
    from gateway.audit.verify import verify_log
    from gateway.commands.audit import open_reader

    config = None
    try:
        external = [json.loads(path.read_text("utf-8")) for path in args.checkpoint]
        if args.export is not None:
            report = verify_log(read_export(args.export), _trusted(args, None), external)
        else:
            if args.store is None:
                config = load_config(args.config)
            reader = open_reader(args)
            try:
                with reader.snapshot() as snapshot:
                    report = verify_log(snapshot, _trusted(args, config), external)
            finally:
                reader.close()
    except (ExportError, StoreLayoutError, OSError, ValueError) as exc:
        print(f"lastmile audit verify: {exc}", file=sys.stderr)
        return 2
    print(report.summary())
    if report.ok and args.require_checkpointed and report.unanchored:
        print(f"FAILED: {report.unanchored} entries are not covered by a signed checkpoint")
        return 1
    return 0 if report.ok else 1


def _prove(args: argparse.Namespace) -> int:
    from gateway.audit.prove import ProofUnavailable
    from gateway.commands.audit import open_reader

    reader = open_reader(args)
    try:
        document = reader.inclusion_proof(args.request_id)
    except ProofUnavailable as exc:
        print(f"lastmile audit prove: {exc}", file=sys.stderr)
        return 1
    finally:
        reader.close()
    print(json.dumps(document, indent=2, ensure_ascii=False))
    return 0


def _prove_consistency(args: argparse.Namespace) -> int:
    from gateway.audit.prove import ProofUnavailable
    from gateway.commands.audit import open_reader

    reader = open_reader(args)
    try:
        document = reader.consistency_proof(args.first, args.second)
    except ProofUnavailable as exc:
        print(f"lastmile audit prove-consistency: {exc}", file=sys.stderr)
        return 1
    finally:
        reader.close()
    print(json.dumps(document, indent=2))
    return 0


def _check_proof(args: argparse.Namespace) -> int:
    from gateway.audit.proofcheck import ProofError, check_proof

    text = sys.stdin.read() if str(args.file) == "-" else args.file.read_text("utf-8")
    config = load_config(args.config) if args.config else None
    trusted = _trusted(args, config)
    try:
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ProofError("a proof is a JSON object")
        summary = check_proof(document, trusted)
    except (ProofError, ValueError) as exc:
        print(f"INVALID: {exc}")
        return 1
    print(f"VALID: {summary}")
    if trusted is None:
        print("(the signing key was not pinned: pass --public-key to check who signed)")
    return 0


def _public_key(args: argparse.Namespace) -> int:
    from gateway.audit.proofcheck import key_id
    from gateway.audit.signing import configured_public_key

    key = configured_public_key(load_config(args.config).audit.checkpoints)
    if key is None:
        print("no signing key is configured (audit.checkpoints.key or key_file)", file=sys.stderr)
        return 1
    import base64

    print(f"{base64.b64encode(key).decode()}  key_id={key_id(key)}")
    return 0


def _prune(args: argparse.Namespace) -> int:
    from gateway.audit.factory import build_audit_store
    from gateway.audit.retention import prune
    from gateway.postgres import Postgres

    async def run() -> int:
        config = load_config(args.config)
        postgres = Postgres(config.postgres) if config.postgres is not None else None
        if postgres is not None:
            await postgres.open()
        store = build_audit_store(config.audit, postgres, writer=f"cli:{os.getpid()}")
        await store.open()
        try:
            before = datetime.now(UTC) - timedelta(days=args.older_than_days)
            result = await prune(store, before, actor=args.actor)
        finally:
            await store.close()
            if postgres is not None:
                await postgres.close()
        print(result.summary() if result else "nothing to prune")
        return 0

    return asyncio.run(run())
