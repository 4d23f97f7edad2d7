"""The ``lastmile`` command. Each subcommand lives in ``gateway/commands/``; add yours to
:data:`COMMANDS`. Config, registry and adapter start-up errors end the command with exit
code 2 and one line per problem on stderr, never a traceback."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from adapters.base import StartupFailed
from gateway.commands import (
    adapter,
    approvals,
    audit,
    check_config,
    demo,
    halt,
    keys,
    mcp_stdio,
    policy,
    sandbox,
    serve,
    tools,
)
from gateway.config import ConfigError
from gateway.registry import RegistryError
from gateway.version import installed_version

Register = Callable[["argparse._SubParsersAction[argparse.ArgumentParser]"], None]

COMMANDS: tuple[Register, ...] = (
    serve.register,
    demo.register,
    check_config.register,
    keys.register,
    sandbox.register,
    audit.register,
    policy.register,
    approvals.register,
    halt.register,
    mcp_stdio.register,
    tools.register,
    adapter.register,
)


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="lastmile", description="A guarded gateway between AI agents and systems of record."
    )
    root.add_argument("--version", action="version", version=f"lastmile {installed_version()}")
    commands = root.add_subparsers(dest="command", required=True)
    for register in COMMANDS:
        register(commands)
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
    except StartupFailed as exc:
        print(f"cannot start: {exc}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
