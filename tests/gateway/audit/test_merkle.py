"""The Merkle tree against RFC 9162, with trees small enough to compute by hand."""

from __future__ import annotations

import hashlib

import pytest

from gateway.audit.merkle import EMPTY_ROOT, Frontier, MerkleTree, PrunedRange
from gateway.audit.proofcheck import (
    ProofError,
    leaf_hash,
    node_hash,
    verify_consistency,
    verify_inclusion,
)


def sha(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def reference_mth(data: list[bytes]) -> bytes:
    """MTH exactly as RFC 9162 section 2.1.1 writes it, on the raw entries."""
    if not data:
        return sha(b"")
    if len(data) == 1:
        return sha(b"\x00" + data[0])
    k = 1
    while k * 2 < len(data):
        k *= 2
    return sha(b"\x01" + reference_mth(data[:k]) + reference_mth(data[k:]))


ENTRIES = [bytes([i]) * (i + 1) for i in range(12)]
LEAVES = [leaf_hash(e) for e in ENTRIES]


def test_hashes_use_distinct_leaf_and_node_prefixes() -> None:
    assert leaf_hash(b"abc") == sha(b"\x00abc")
    assert node_hash(b"L" * 32, b"R" * 32) == sha(b"\x01" + b"L" * 32 + b"R" * 32)
    # A leaf whose data looks like two hashes cannot pass for the node over them.
    assert leaf_hash(b"L" * 32 + b"R" * 32) != node_hash(b"L" * 32, b"R" * 32)


def test_empty_tree_root_is_the_hash_of_nothing() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert Frontier().root() == EMPTY_ROOT


def test_small_trees_computed_by_hand() -> None:
    a, b, c, d, e = (leaf_hash(x) for x in (b"a", b"b", b"c", b"d", b"e"))
    tree3 = MerkleTree([a, b, c])
    # three leaves: k = 2, the third leaf is promoted, not duplicated (unlike Bitcoin)
    assert tree3.root() == sha(b"\x01" + sha(b"\x01" + a + b) + c)
    tree5 = MerkleTree([a, b, c, d, e])
    ab, cd = sha(b"\x01" + a + b), sha(b"\x01" + c + d)
    assert tree5.root() == sha(b"\x01" + sha(b"\x01" + ab + cd) + e)
    assert tree5.inclusion_path(4, 5) == [sha(b"\x01" + ab + cd)]
    assert tree5.inclusion_path(2, 5) == [d, ab, e]
    # RFC 9162 2.1.4: PROOF(3, D[5]): SUBPROOF(3, D[0:4], true) : MTH(D[4:5])
    #   = SUBPROOF(1, D[2:4], false) : MTH(D[0:2]) : e = [c, d, ab, e]
    assert tree5.consistency_proof(3, 5) == [c, d, ab, e]


@pytest.mark.parametrize("size", range(1, 13))
def test_roots_match_the_rfc_definition(size: int) -> None:
    frontier = Frontier()
    for leaf in LEAVES[:size]:
        frontier.append(leaf)
    assert frontier.root() == reference_mth(ENTRIES[:size])
    assert MerkleTree(LEAVES[:size]).root() == reference_mth(ENTRIES[:size])


def test_every_inclusion_proof_verifies_and_fails_when_altered() -> None:
    tree = MerkleTree(LEAVES)
    for size in range(1, 13):
        root = tree.root(size)
        for index in range(size):
            path = tree.inclusion_path(index, size)
            verify_inclusion(index, size, LEAVES[index], path, root)
            with pytest.raises(ProofError):
                verify_inclusion(index, size, LEAVES[(index + 1) % 12], path, root)
            if path:
                with pytest.raises(ProofError):
                    verify_inclusion(index, size, LEAVES[index], path[:-1], root)


def test_every_consistency_proof_verifies_and_fails_when_altered() -> None:
    tree = MerkleTree(LEAVES)
    for second in range(1, 13):
        for first in range(1, second + 1):
            proof = tree.consistency_proof(first, second)
            verify_consistency(first, second, tree.root(first), tree.root(second), proof)
            if first < second:
                forged = MerkleTree([*LEAVES[: first - 1], leaf_hash(b"x"), *LEAVES[first:]])
                with pytest.raises(ProofError):
                    verify_consistency(first, second, forged.root(first), tree.root(second), proof)


def test_a_pruned_prefix_keeps_roots_and_later_proofs() -> None:
    kept = Frontier()
    for leaf in LEAVES[:6]:
        kept.append(leaf)
    pruned = MerkleTree(LEAVES[6:], pruned=Frontier.from_json(kept.to_json()))
    full = MerkleTree(LEAVES)
    assert pruned.root() == full.root()
    assert pruned.inclusion_path(9, 12) == full.inclusion_path(9, 12)
    assert pruned.consistency_proof(7, 12) == full.consistency_proof(7, 12)
    with pytest.raises(PrunedRange):
        pruned.inclusion_path(2, 12)


def test_roots_of_the_certificate_transparency_reference_tree() -> None:
    """The eight-leaf tree used by the Certificate Transparency reference tests."""
    entries = [
        b"",
        b"\x00",
        b"\x10",
        b"\x20\x21",
        b"\x30\x31",
        b"\x40\x41\x42\x43",
        bytes(range(0x50, 0x58)),
        bytes(range(0x60, 0x70)),
    ]
    tree = MerkleTree([leaf_hash(e) for e in entries])
    assert tree.root(1).hex() == "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"
    assert tree.root(8).hex() == "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"
