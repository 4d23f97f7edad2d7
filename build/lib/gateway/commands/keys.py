"""``lastmile keys``: make API keys and the digests that go into gateway.yaml."""

from __future__ import annotations

import argparse
import sys

from gateway.identity import hash_key, new_key


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = commands.add_parser("keys", help="make and hash API keys").add_subparsers(
        dest="keys_command", required=True
    )
    keys.add_parser("new", help="print a new key and its hash").set_defaults(run=_keys_new)
    keys.add_parser("hash", help="hash a key read from stdin").set_defaults(run=_keys_hash)


def _keys_new(args: argparse.Namespace) -> int:
    key = new_key()
    print(f"key:        {key}")
    print(f"key_sha256: {hash_key(key)}")
    print("Give the key to its holder once; put only key_sha256 in gateway.yaml.", file=sys.stderr)
    return 0


def _keys_hash(args: argparse.Namespace) -> int:
    key = sys.stdin.readline().strip()
    if not key:
        print("lastmile keys hash: read no key on standard input", file=sys.stderr)
        return 2
    print(hash_key(key))
    return 0
