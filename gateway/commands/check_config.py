"""``lastmile check-config``: validate a gateway.yaml, its adapters, allow-lists, budgets
and policy files, and build everything start-up builds from the operations (catalog,
OpenAPI document, MCP tool list), so what would stop ``lastmile serve`` stops here first,
naming the operation. Warns about backends no policy permits (deny by default)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.api.openapi import openapi_document
from gateway.api.tooldefs import mcp_tool
from gateway.config import Config, load_config
from gateway.guardrails.policy_coverage import unpermitted_backends
from gateway.guardrails.runtime import check_guardrails, load_policy
from gateway.identity import AgentDirectory
from gateway.registry import Registry, RegistryError, build_registry


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    check = commands.add_parser("check-config", help="validate a gateway.yaml and its adapters")
    check.add_argument("file", type=Path, nargs="?", help="default: the embedded config")
    check.set_defaults(run=_check_config)


def _check_config(args: argparse.Namespace) -> int:
    config = load_config(args.file)
    registry = build_registry(config)  # the catalog, each entry's JSON Schemas
    check_guardrails(config, registry)
    openapi_document(registry, config.server.public_url)
    _mcp_tools(registry)
    for warning in policy_warnings(config, registry):
        print(f"warning: {warning}", file=sys.stderr)
    source = args.file or "the embedded default config"
    print(
        f"{source}: OK ({len(config.backends)} backend(s), {len(registry.operations)} "
        f"operation(s), {len(config.agents)} agent(s))"
    )
    return 0


def _mcp_tools(registry: Registry) -> None:
    for name, entry in registry.catalog.items():
        try:
            mcp_tool(entry)
        except Exception as exc:  # whatever breaks tools/list breaks it for every agent
            raise RegistryError(
                f"operation {name!r}: its MCP tool cannot be built: {type(exc).__name__}: {exc}"
            ) from exc


def policy_warnings(config: Config, registry: Registry) -> list[str]:
    """One line per backend whose every call the policies would deny."""
    engine = load_policy(config, registry, AgentDirectory.from_config(config.agents))
    if engine is None:
        return []
    return [
        f"backend {backend!r}: no policy in guardrails.policies permits any of its "
        "operations, so every call is denied (deny by default). List a file with a permit "
        "for it in guardrails.policies (`lastmile adapter new` writes permit.cedar); later "
        "edits to listed files apply with `lastmile policy reload`. See docs/codegen.md."
        for backend in unpermitted_backends(engine.rules.values(), registry.operations.values())
    ]
