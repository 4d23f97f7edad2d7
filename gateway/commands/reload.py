"""``lastmile reload [--config FILE]``: change agents, keys, revocations, policies,
budgets and rate limits in a running gateway without a restart (operator role).

With ``--config`` the file's text is sent as written (its ``${ENV}`` references are
resolved by each gateway process, never here); without it, the configuration in force
is published again, which re-reads its policy files. Exit 0 once every live process has
adopted it, 3 when some did not (named on stderr with their reasons), 1 when it was
refused (nothing changed), 2 on setup problems.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from gateway.commands.staff_http import add_connection_arguments, request


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reload = commands.add_parser(
        "reload", help="put a new configuration in force without a restart (operator role)"
    )
    reload.add_argument("--config", type=Path, help="the new gateway.yaml")
    add_connection_arguments(reload)
    reload.set_defaults(run=_reload)


def _reload(args: argparse.Namespace) -> int:
    body: dict[str, str] = {}
    if args.config is not None:
        try:
            body = {"text": args.config.read_text("utf-8"), "source": str(args.config)}
        except (OSError, UnicodeDecodeError) as exc:
            print(f"{args.config}: cannot read: {exc}", file=sys.stderr)
            return 2
    return request(args, "POST", "/v1/admin/config", body)
