"""``lastmile adapter new``: generate an adapter package from a WSDL, an OpenAPI description
or an OData ``$metadata`` document."""

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
        help="generate models, an adapter module and a contract test from a WSDL, an "
        "OpenAPI description or an OData $metadata document",
        description="Reads a WSDL (with its imports and includes), an OpenAPI 3.0/3.1 or "
        "Swagger 2.0 description, or an OData V2/V4 $metadata document, from a file or an "
        "http(s) URL. Nothing else is fetched from the network. See docs/codegen.md, "
        "docs/openapi.md and docs/odata-codegen.md.",
    )
    source = new.add_mutually_exclusive_group(required=True)
    source.add_argument("--wsdl", help="path or http(s) URL of the WSDL")
    source.add_argument("--openapi", help="path or http(s) URL of the OpenAPI description")
    source.add_argument("--odata", help="path or http(s) URL of the OData $metadata document")
    new.add_argument("--name", required=True, help="package name and operation prefix, e.g. sap")
    new.add_argument("--out", type=Path, help="output directory (default: ./NAME)")
    new.add_argument("--owner", default="unassigned", help="owner recorded on each operation")
    new.add_argument("--tags", default="", help="OpenAPI: only operations with one of these tags")
    new.add_argument(
        "--operations", default="", help="OpenAPI: only these operationIds (comma-separated)"
    )
    new.add_argument(
        "--entity-sets", default="", help="OData: only these entity sets (comma-separated)"
    )
    new.add_argument("--force", action="store_true", help="overwrite files generated before")
    new.set_defaults(run=_new)


def _new(args: argparse.Namespace) -> int:
    from adapters.codegen import GeneratorError, generate_adapter

    out = args.out or Path(args.name)
    if args.openapi:
        return _new_openapi(args, out)
    if args.entity_sets and not args.odata:
        print("lastmile adapter new: --entity-sets needs --odata", file=sys.stderr)
        return 2
    if args.odata:
        return _new_odata(args, out)
    if args.tags or args.operations:
        print("lastmile adapter new: --tags and --operations need --openapi", file=sys.stderr)
        return 2
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
    print("Operations (rename them in adapter.py if you like; the catalog shows these):")
    for name in result.operation_names:
        print(f"  {name}")
    return _next_steps(out, result.backend_entry)


def _new_openapi(args: argparse.Namespace, out: Path) -> int:
    from adapters.codegen import GeneratorError
    from adapters.codegen.openapi import generate_openapi_adapter

    try:
        result = generate_openapi_adapter(
            args.openapi,
            args.name,
            out,
            owner=args.owner,
            tags=_listed(args.tags),
            operation_ids=_listed(args.operations),
            force=args.force,
        )
    except GeneratorError as exc:
        print(f"lastmile adapter new: {exc}", file=sys.stderr)
        return 2
    print(
        f"{result.directory}: {result.operations} operation(s), {result.models} model(s), "
        f"{result.contract_cases} contract case(s)"
    )
    for repair in result.repairs:
        print(f"repaired: {repair}", file=sys.stderr)
    for dropped in result.dropped:
        print(f"warning: not enforced (cannot translate): {dropped}", file=sys.stderr)
    return _next_steps(out, result.backend_entry)


def _new_odata(args: argparse.Namespace, out: Path) -> int:
    from adapters.codegen import GeneratorError
    from adapters.codegen.odata import generate_odata_adapter

    if args.tags or args.operations:
        print("lastmile adapter new: --tags and --operations need --openapi", file=sys.stderr)
        return 2
    try:
        result = generate_odata_adapter(
            args.odata,
            args.name,
            out,
            owner=args.owner,
            entity_sets=_listed(args.entity_sets),
            force=args.force,
        )
    except GeneratorError as exc:
        print(f"lastmile adapter new: {exc}", file=sys.stderr)
        return 2
    print(
        f"{result.directory}: OData {result.version}, {result.operations} operation(s), "
        f"{result.models} model(s), {result.contract_cases} contract case(s)"
    )
    return _next_steps(out, result.backend_entry)


def _next_steps(out: Path, backend_entry: str) -> int:
    """What every generator prints last: the entry to paste and what to review."""
    print(f"\nPaste into gateway.yaml (also in {out / 'gateway.snippet.yaml'}):\n")
    print(backend_entry)
    print(f"Cedar permits to review: {out / 'permit.cedar'}")
    print("Next: review each '# TODO confirm' in adapter.py, then run pytest on the package.")
    return 0


def _listed(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]
