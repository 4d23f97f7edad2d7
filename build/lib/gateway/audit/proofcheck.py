"""Check lastmile audit proofs and checkpoints without trusting the gateway.

This module is the whole of what an independent verifier needs: it imports only the
standard library (``hashlib``, ``json``, ``base64``) and ``cryptography``, so an auditor
can copy it out of the repository and run it on its own.

Definitions (see docs/audit.md):

* **Canonical JSON**: ``json.dumps(value, sort_keys=True, separators=(",", ":"),
  ensure_ascii=False, allow_nan=False)`` encoded as UTF-8: object keys sorted by code
  point, no insignificant whitespace, non-ASCII characters as raw UTF-8, the JSON
  short escapes for ``"`` ``\\`` and control characters, integers in decimal, floats in
  Python's shortest round-trip form. Values are only objects, arrays, strings,
  integers, floats, booleans and null.
* **Leaf hash** (RFC 9162 section 2.1.1): ``SHA-256(0x00 || entry)`` where ``entry`` is
  the canonical JSON of ``{"event": ..., "index": i, "prev_hash": hex}``.
* **Node hash**: ``SHA-256(0x01 || left || right)``.
* **Checkpoint**: a signed statement ``(log, tree_size, root_hash, time, key_id)``;
  the Ed25519 signature covers ``CHECKPOINT_CONTEXT + canonical_json(body)``.
* **Inclusion** and **consistency** proofs are verified with the algorithms of
  RFC 9162 sections 2.1.3.2 and 2.1.4.2.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

LOG_NAME = "lastmile-audit"
CHECKPOINT_CONTEXT = b"lastmile-audit-checkpoint-v1\n"
ZERO_HASH = "0" * 64
"""The ``prev_hash`` of the very first entry of a log."""

_SIGNED_FIELDS = ("log", "tree_size", "root_hash", "time", "key_id")


class ProofError(Exception):
    """A proof, checkpoint or signature does not check out; the message says why."""


def canonical_json(value: Any) -> bytes:
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def leaf_hash(entry: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + entry).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def key_id(public_key: bytes) -> str:
    """A short, stable name for an Ed25519 public key (raw 32 bytes)."""
    return hashlib.sha256(public_key).hexdigest()[:16]


def _unhex(value: object, what: str) -> bytes:
    if not isinstance(value, str) or len(value) != 64:
        raise ProofError(f"{what} must be 64 hex digits")
    try:
        return bytes.fromhex(value)
    except ValueError:
        raise ProofError(f"{what} must be 64 hex digits") from None


def verify_inclusion(
    index: int, tree_size: int, leaf: bytes, path: list[bytes], root: bytes
) -> None:
    """RFC 9162 section 2.1.3.2: ``leaf`` is entry ``index`` of the tree with ``root``."""
    if not 0 <= index < tree_size:
        raise ProofError(f"leaf index {index} is outside a tree of size {tree_size}")
    fn, sn, r = index, tree_size - 1, leaf
    for p in path:
        if sn == 0:
            raise ProofError("the inclusion path is longer than the tree is deep")
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the inclusion path is shorter than the tree is deep")
    if r != root:
        raise ProofError("the inclusion path does not lead to the checkpoint's root hash")


def verify_consistency(
    first_size: int, second_size: int, first_root: bytes, second_root: bytes, proof: list[bytes]
) -> None:
    """RFC 9162 section 2.1.4.2: the tree of ``second_size`` extends the one of ``first_size``."""
    if not 0 < first_size <= second_size:
        raise ProofError(f"cannot prove {first_size} -> {second_size}: sizes out of order")
    if first_size == second_size:
        if proof:
            raise ProofError("a proof between equal sizes must be empty")
        if first_root != second_root:
            raise ProofError("equal tree sizes with different root hashes")
        return
    if not proof:
        raise ProofError("the consistency proof is empty")
    if first_size & (first_size - 1) == 0:  # a power of two: the old root is the first node
        proof = [first_root, *proof]
    fn, sn = first_size - 1, second_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            raise ProofError("the consistency proof is longer than needed")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if not fn & 1:
                while not fn & 1 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError("the consistency proof is shorter than needed")
    if fr != first_root:
        raise ProofError("the proof does not reproduce the first checkpoint's root hash")
    if sr != second_root:
        raise ProofError("the proof does not reproduce the second checkpoint's root hash")


def checkpoint_message(checkpoint: dict[str, Any]) -> bytes:
    """The exact bytes a checkpoint's signature covers."""
    body = {name: checkpoint.get(name) for name in _SIGNED_FIELDS}
    return CHECKPOINT_CONTEXT + canonical_json(body)


def verify_checkpoint(checkpoint: dict[str, Any], trusted_keys: list[bytes] | None) -> None:
    """The checkpoint is well formed and signed by one of ``trusted_keys`` (raw Ed25519
    public keys). With ``trusted_keys=None`` the key embedded in the checkpoint is used:
    that proves integrity, not origin, so callers should pin the log's key."""
    if checkpoint.get("log") != LOG_NAME:
        raise ProofError(f"not a {LOG_NAME} checkpoint")
    size = checkpoint.get("tree_size")
    if not isinstance(size, int) or isinstance(size, bool) or size < 0:
        raise ProofError("tree_size must be a non-negative integer")
    _unhex(checkpoint.get("root_hash"), "root_hash")
    try:
        public = base64.b64decode(str(checkpoint.get("public_key", "")), validate=True)
        signature = base64.b64decode(str(checkpoint.get("signature", "")), validate=True)
    except ValueError:
        raise ProofError("public_key and signature must be base64") from None
    if key_id(public) != checkpoint.get("key_id"):
        raise ProofError("key_id does not name the embedded public key")
    if trusted_keys is not None and public not in trusted_keys:
        raise ProofError(
            f"the checkpoint is signed by key {checkpoint.get('key_id')}, which is not "
            f"a trusted key ({', '.join(key_id(k) for k in trusted_keys) or 'none given'})"
        )
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(signature, checkpoint_message(checkpoint))
    except (InvalidSignature, ValueError):
        raise ProofError(
            f"the signature of the checkpoint at tree size {size} is not valid"
        ) from None


def check_proof(document: dict[str, Any], trusted_keys: list[bytes] | None) -> str:
    """Check an inclusion or consistency proof document (as printed by ``lastmile audit
    prove``); return a one-line summary or raise :class:`ProofError`."""
    kind = document.get("type")
    if kind == "inclusion":
        checkpoint = _dict(document.get("checkpoint"), "checkpoint")
        verify_checkpoint(checkpoint, trusted_keys)
        entry = _dict(document.get("entry"), "entry")
        index = entry.get("index")
        if not isinstance(index, int) or index != document.get("leaf_index"):
            raise ProofError("leaf_index does not match the entry's index")
        verify_inclusion(
            index,
            int(checkpoint["tree_size"]),
            leaf_hash(canonical_json(entry)),
            [_unhex(h, "audit_path item") for h in _list(document.get("audit_path"))],
            _unhex(checkpoint["root_hash"], "root_hash"),
        )
        event = _dict(entry.get("event"), "entry.event")
        return (
            f"event {event.get('event_id')} (request {event.get('request_id')}) is entry "
            f"{index} of the log whose checkpoint at size {checkpoint['tree_size']} is signed "
            f"by key {checkpoint['key_id']}"
        )
    if kind == "consistency":
        first = _dict(document.get("first"), "first")
        second = _dict(document.get("second"), "second")
        verify_checkpoint(first, trusted_keys)
        verify_checkpoint(second, trusted_keys)
        verify_consistency(
            int(first["tree_size"]),
            int(second["tree_size"]),
            _unhex(first["root_hash"], "first.root_hash"),
            _unhex(second["root_hash"], "second.root_hash"),
            [_unhex(h, "proof item") for h in _list(document.get("proof"))],
        )
        return (
            f"the checkpoint at size {second['tree_size']} extends the one at size "
            f"{first['tree_size']}: nothing before it was changed or removed"
        )
    raise ProofError("type must be 'inclusion' or 'consistency'")


def _dict(value: object, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ProofError(f"{what} must be a JSON object")
    return value


def _list(value: object) -> list[object]:
    if not isinstance(value, list):
        raise ProofError("proof paths must be JSON arrays")
    return value
