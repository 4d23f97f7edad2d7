"""The ``lastmile`` command. Each subcommand lives in ``gateway/commands/``; add yours to
:data:`COMMANDS`. Config, registry and adapter start-up errors end the command with exit
code 2 and one line per problem on stderr, never a traceback.

Only the module of the command being run is imported (none for ``--version``, all of
them for ``--help`` or an unknown name): ``lastmile mcp-stdio`` is launched by agent hosts
for every session and must start without the registry, zeep or Cedar, which the gateway's
own commands load; the staff commands that only send HTTP (``halt``, ``resume``,
``halts``, ``processes``, ``approvals``, ``reload``) must start at once, since a halt typed
during an incident is late by however long the command takes to start
(``tests/gateway/test_cli_imports.py`` holds them to it, ``bench/cli_start.py`` times it).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Iterable, Sequence

COMMANDS: dict[str, str] = {
    "serve": "gateway.commands.serve",
    "demo": "gateway.commands.demo",
    "check-config": "gateway.commands.check_config",
    "keys": "gateway.commands.keys",
    "sandbox": "gateway.commands.sandbox",
    "audit": "gateway.commands.audit",
    "policy": "gateway.commands.policy",
    "approvals": "gateway.commands.approvals",
    "halt": "gateway.commands.halt",
    "resume": "gateway.commands.halt",
    "halts": "gateway.commands.halt",
    "processes": "gateway.commands.halt",
    "reload": "gateway.commands.reload",
    "mcp-stdio": "gateway.commands.mcp_stdio",
    "tools": "gateway.commands.tools",
    "adapter": "gateway.commands.adapter",
}
"""Each subcommand and the module whose ``register(subcommands)`` adds it (in help order)."""


def parser(commands: Iterable[str] = COMMANDS) -> argparse.ArgumentParser:
    """The argument parser with the given subcommands (and any their modules also add)."""
    root = argparse.ArgumentParser(
        prog="lastmile", description="A guarded gateway between AI agents and systems of record."
    )
    root.add_argument("--version", action=_Version)
    subcommands = root.add_subparsers(dest="command", required=True)
    for module in dict.fromkeys(COMMANDS[name] for name in commands):
        importlib.import_module(module).register(subcommands)
    return root


class _Version(argparse.Action):
    """``--version``, reading the package metadata only when asked (it costs ~25 ms)."""

    def __init__(self, option_strings: Sequence[str], dest: str) -> None:
        super().__init__(
            option_strings, dest, nargs=0, default=argparse.SUPPRESS, help="print the release"
        )

    def __call__(self, parser: argparse.ArgumentParser, *_: object) -> None:
        from gateway.version import installed_version

        print(f"lastmile {installed_version()}")
        parser.exit()


def _commands_for(argv: Sequence[str]) -> Iterable[str]:
    """The subcommands whose modules this command line needs."""
    if argv[:1] == ["--version"]:
        return ()
    if argv[:1] and argv[0] in COMMANDS:
        return argv[:1]
    return COMMANDS


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    wanted = _commands_for(argv)
    args = parser(wanted).parse_args(argv)
    try:
        code: int = args.run(args)
    except Exception as exc:
        problem = _startup_problem(exc)
        if problem is None:
            raise
        print(problem, file=sys.stderr)
        return 2
    return code


def _startup_problem(exc: Exception) -> str | None:
    """What to print for a start-up failure, or None for anything else (a bug).

    Imported only once a command has failed, so that light commands stay light; a command
    that raised one of these errors has loaded its module already.
    """
    from adapters.base import StartupFailed
    from gateway.audit.signing import SigningKeyError
    from gateway.config import ConfigError
    from gateway.registry import RegistryError

    if isinstance(exc, ConfigError):
        return "\n".join(exc.problems)
    if isinstance(exc, RegistryError):
        return str(exc)
    if isinstance(exc, StartupFailed | SigningKeyError):
        return f"cannot start: {exc}"
    if isinstance(exc, ModuleNotFoundError) and exc.name == "sandbox":
        return (
            "the sandboxes are not installed here: the production image leaves them out; "
            "use the demo image (docker build --target demo) or a source checkout"
        )
    return None


if __name__ == "__main__":
    sys.exit(main())
