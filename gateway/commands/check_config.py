"""``lastmile check-config``: validate a gateway.yaml, its adapters, allow-lists, budgets
and policy files, and that the API document can describe its operations (every
operation gets its own OpenAPI operationId)."""

from __future__ import annotations

import argparse
from pathlib import Path

from gateway.api.openapi import openapi_document
from gateway.config import load_config
from gateway.guardrails.runtime import check_guardrails
from gateway.registry import build_registry


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser("check-config", help="validate a gateway.yaml and its adapters")
    check.add_argument("file", type=Path, nargs="?", help="default: the embedded config")
    check.set_defaults(run=_check_config)


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    registry = build_registry(config)
    check_guardrails(config, registry)
    openapi_document(registry, config.server.public_url)
    source = args.file or "the embedded default config"
    print(
        f"{source}: OK ({len(config.backends)} backend(s), {len(registry.operations)} "
        f"operation(s), {len(config.agents)} agent(s))"
    )
    return 0
