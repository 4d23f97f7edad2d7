"""``lastmile halt | resume | halts``: the kill switch, for operators.

lastmile halt agent support-bot --reason "runaway refunds"
lastmile halt all --reason "incident 4711"
lastmile resume agent support-bot
lastmile processes        # the gateway processes of a fleet, and whether they are live

A halt or resume answers once every live gateway process has confirmed it; exit code 3
means it was recorded but some process did not confirm in time (named on stderr).
"""

from __future__ import annotations

import argparse
import sys

from gateway.commands.staff_http import add_connection_arguments, request

SCOPES = ("all", "agent", "backend", "operation")


def _target(args: argparse.Namespace) -> str:
    return "" if args.scope == "all" else (args.target or "")


def _halt(args: argparse.Namespace) -> int:
    if args.scope != "all" and not args.target:
        print(f"name the {args.scope} to halt", file=sys.stderr)
        return 2
    body = {"scope": args.scope, "target": _target(args), "reason": args.reason}
    return request(args, "POST", "/v1/admin/halts", body)


def _resume(args: argparse.Namespace) -> int:
    halt_id = "all" if args.scope == "all" else f"{args.scope}:{args.target}"
    return request(args, "DELETE", f"/v1/admin/halts/{halt_id}")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    halt = commands.add_parser("halt", help="stop traffic at once (operator role)")
    halt.add_argument("scope", choices=SCOPES)
    halt.add_argument("target", nargs="?", help="agent id, backend or operation name")
    halt.add_argument("--reason", required=True)
    add_connection_arguments(halt)
    halt.set_defaults(run=_halt)
    resume = commands.add_parser("resume", help="lift a halt (operator role)")
    resume.add_argument("scope", choices=SCOPES)
    resume.add_argument("target", nargs="?")
    add_connection_arguments(resume)
    resume.set_defaults(run=_resume)
    halts = commands.add_parser("halts", help="list the live halts (operator role)")
    add_connection_arguments(halts)
    halts.set_defaults(run=lambda a: request(a, "GET", "/v1/admin/halts"))
    processes = commands.add_parser(
        "processes", help="the gateway processes sharing PostgreSQL (operator role)"
    )
    add_connection_arguments(processes)
    processes.set_defaults(run=lambda a: request(a, "GET", "/v1/admin/processes"))
