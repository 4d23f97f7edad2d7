"""``lastmile policy check | schema | reload``: Cedar policies.

``check`` validates the configured files against the schema generated from the registry
(exit 2 listing each file and reason), ``schema`` prints that schema, ``reload`` asks a
running gateway (operator key) to re-read its files, all or nothing."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from gateway.commands.staff_http import add_connection_arguments, request
from gateway.config import load_config
from gateway.guardrails.cedar import cedar_schema
from gateway.guardrails.runtime import check_guardrails, load_policy
from gateway.identity import AgentDirectory
from gateway.registry import build_registry


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    policy = commands.add_parser("policy", help="Cedar policies").add_subparsers(
        dest="policy_command", required=True
    )
    check = policy.add_parser("check", help="parse and validate the configured policy files")
    check.add_argument("--config", type=Path, help="default: the embedded config")
    check.set_defaults(run=_check)
    schema = policy.add_parser("schema", help="print the Cedar schema generated from the registry")
    schema.add_argument("--config", type=Path, help="default: the embedded config")
    schema.set_defaults(run=_schema)
    reload = policy.add_parser("reload", help="make a running gateway re-read its policy files")
    add_connection_arguments(reload)
    reload.set_defaults(run=lambda a: request(a, "POST", "/v1/admin/policies/reload"))


def _check(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    registry = build_registry(config)
    check_guardrails(config, registry)
    engine = load_policy(config, registry, AgentDirectory.from_config(config.agents))
    if engine is None:
        print("no policy files configured: the agents' allow-lists alone decide")
        return 0
    files = ", ".join(config.guardrails.policies)
    print(
        f"{files}: OK ({len(engine.rules)} policies, validated against "
        f"{len(registry.operations)} operation(s))"
    )
    return 0


def _schema(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    registry = build_registry(config)
    print(json.dumps(cedar_schema(registry.operations.values()), indent=2))
    return 0
