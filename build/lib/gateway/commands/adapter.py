"""``lastmile adapter new``: generate a SOAP adapter package from a WSDL."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    adapter = commands.add_parser("adapter", help="generate adapters").add_subparsers(
        dest="adapter_command", required=True
    )
    new = adapter.add_parser(
        "new",
        help="generate models, an adapter module and a contract test from a WSDL",
        description="Reads a WSDL (file or http(s) URL) with all its imports and includes. "
        "Nothing else is fetched from the network. See docs/codegen.md.",
    )
    new.add_argument("--wsdl", required=True, help="path or http(s) URL of the WSDL")
    new.add_argument("--name", required=True, help="package name and operation prefix, e.g. sap")
    new.add_argument("--out", type=Path, help="output directory (default: ./NAME)")
    new.add_argument("--owner", default="unassigned", help="owner recorded on each operation")
    new.add_argument("--force", action="store_true", help="overwrite files generated before")
    new.set_defaults(run=_new)


def _new(args: argparse.Namespace) -> int:
    from adapters.codegen import GeneratorError, generate_adapter

    out = args.out or Path(args.name)
    try:
        result = generate_adapter(args.wsdl, args.name, out, owner=args.owner, force=args.force)
    except GeneratorError as exc:
        print(f"lastmile adapter new: {exc}", file=sys.stderr)
        return 2
    print(
        f"{result.directory}: {result.operations} operation(s), {result.models} model(s), "
        f"{result.contract_cases} contract case(s)"
    )
    for dropped in result.dropped:
        print(f"warning: not enforced (cannot translate): {dropped}", file=sys.stderr)
    print("Next: review each '# TODO confirm' in adapter.py, then run pytest on the package.")
    return 0
