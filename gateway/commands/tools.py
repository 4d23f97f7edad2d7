"""``lastmile tools export``: one agent's tools as function-calling definitions.

For agent hosts that take tool definitions rather than an MCP server: the catalog
entries this agent may call, in OpenAI's (Chat Completions ``openai``, strict; Responses
``openai-responses``) or Anthropic's function-calling shape, or as an MCP ``tools/list``
result, each tool named as every face names it (``warehouse_stock_get``). Nothing is
contacted; the registry is built from config.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from gateway.config import load_config


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from gateway.api.tooldefs import FORMATS

    tools = commands.add_parser("tools", help="tool definitions for agent hosts").add_subparsers(
        dest="tools_command", required=True
    )
    export = tools.add_parser("export", help="print an agent's tools for function calling")
    export.add_argument("--agent", required=True, help="agent id from gateway.yaml")
    export.add_argument("--format", required=True, choices=sorted(FORMATS))
    export.add_argument("--config", type=Path, help="gateway.yaml (default: the embedded one)")
    export.set_defaults(run=_export)


def _export(args: argparse.Namespace) -> int:
    from gateway.api.tooldefs import FORMATS
    from gateway.identity import Agent
    from gateway.registry import build_registry

    config = load_config(args.config)
    found = [a for a in config.agents if a.id == args.agent]
    if not found:
        known = ", ".join(a.id for a in config.agents) or "none"
        print(f"lastmile tools export: no agent {args.agent!r} (agents: {known})", file=sys.stderr)
        return 2
    if found[0].revoked:
        print(f"lastmile tools export: agent {args.agent!r} is revoked", file=sys.stderr)
        return 2
    agent = Agent.from_config(found[0])
    catalog = build_registry(config).catalog
    entries = [entry for name, entry in catalog.items() if agent.may_call(name)]
    print(json.dumps(FORMATS[args.format](entries), indent=2, ensure_ascii=False))
    return 0
