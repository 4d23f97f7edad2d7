"""``lastmile approvals list | show | approve | reject``: decide held calls (approver role)."""

from __future__ import annotations

import argparse

from gateway.commands.staff_http import add_connection_arguments, request


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    approvals = commands.add_parser(
        "approvals", help="list and decide calls held for approval"
    ).add_subparsers(dest="approvals_command", required=True)
    listing = approvals.add_parser("list", help="held calls, pending by default")
    listing.add_argument("--status", default="pending", help="pending (default), executed, ...")
    add_connection_arguments(listing)
    listing.set_defaults(run=lambda a: request(a, "GET", f"/v1/approvals?status={a.status}"))
    show = approvals.add_parser("show", help="one held call with its input")
    show.add_argument("id")
    add_connection_arguments(show)
    show.set_defaults(run=lambda a: request(a, "GET", f"/v1/approvals/{a.id}"))
    for verb in ("approve", "reject"):
        decide = approvals.add_parser(verb, help=f"{verb} a held call, with a reason")
        decide.add_argument("id")
        decide.add_argument("--reason", required=True)
        add_connection_arguments(decide)
        decide.set_defaults(
            run=lambda a, verb=verb: request(
                a, "POST", f"/v1/approvals/{a.id}/{verb}", {"reason": a.reason}
            )
        )
