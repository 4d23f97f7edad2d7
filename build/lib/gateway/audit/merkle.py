"""The RFC 9162 Merkle tree over the audit log: roots, inclusion and consistency proofs.

Hashing (leaf prefix 0x00, node prefix 0x01) lives in :mod:`gateway.audit.proofcheck`,
which verifiers use on their own; this module produces what they check.

A :class:`Frontier` holds the perfect subtrees that cover the leaves appended so far
(the binary decomposition of the tree size, largest first), so the writer knows the
root at every size in O(log n) space and verification folds the log in one pass. The
same frontier, frozen at a pruning point, is what lets a pruned log still verify.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from gateway.audit.proofcheck import node_hash

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""MTH of the empty tree (RFC 9162 section 2.1.1)."""


class PrunedRange(Exception):
    """A proof would need leaves that retention has removed."""


def split_point(n: int) -> int:
    """The largest power of two smaller than ``n`` (n > 1): where MTH splits a tree."""
    return 1 << ((n - 1).bit_length() - 1)


def blocks_of(size: int) -> list[tuple[int, int]]:
    """The ``(start, end)`` ranges of the perfect subtrees covering ``[0, size)``."""
    ranges, start = [], 0
    for bit in reversed(range(size.bit_length())):
        if size >> bit & 1:
            ranges.append((start, start + (1 << bit)))
            start += 1 << bit
    return ranges


class Frontier:
    """The roots of the perfect subtrees covering the first ``size`` leaves."""

    __slots__ = ("hashes", "size")

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != size.bit_count():
            raise ValueError(f"a frontier of size {size} has {size.bit_count()} hashes")
        self.size = size
        self.hashes = list(hashes)

    def append(self, leaf: bytes) -> None:
        self.hashes.append(leaf)
        self.size += 1
        n = self.size
        while n & 1 == 0:  # the two rightmost subtrees are now the same size: merge them
            right = self.hashes.pop()
            self.hashes[-1] = node_hash(self.hashes[-1], right)
            n >>= 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        root = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            root = node_hash(left, root)
        return root

    def copy(self) -> Frontier:
        return Frontier(self.size, self.hashes)

    def to_json(self) -> dict[str, object]:
        return {"size": self.size, "hashes": [h.hex() for h in self.hashes]}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Frontier:
        hashes = data.get("hashes")
        size = data.get("size")
        if not isinstance(size, int) or not isinstance(hashes, list):
            raise ValueError("a frontier is {size: int, hashes: [hex, ...]}")
        return cls(size, [bytes.fromhex(str(h)) for h in hashes])


class MerkleTree:
    """Leaf hashes ``[start, start + len(leaves))`` after a pruned prefix ``[0, start)``
    whose frontier is kept; answers MTH of any range and the RFC 9162 proofs."""

    def __init__(self, leaves: Sequence[bytes], pruned: Frontier | None = None) -> None:
        self._leaves = leaves
        self._start = pruned.size if pruned else 0
        self._known: dict[tuple[int, int], bytes] = {}
        if pruned:
            self._known = dict(zip(blocks_of(pruned.size), pruned.hashes, strict=True))

    @property
    def size(self) -> int:
        return self._start + len(self._leaves)

    def subtree(self, start: int, end: int) -> bytes:
        """MTH(D[start:end])."""
        known = self._known.get((start, end))
        if known is not None:
            return known
        if end - start == 1:
            if start < self._start:
                raise PrunedRange(f"leaf {start} was removed by retention")
            return self._leaves[start - self._start]
        k = split_point(end - start)
        return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)

    def inclusion_path(self, index: int, size: int) -> list[bytes]:
        """PATH(m, D[n]) of RFC 9162 section 2.1.3.1, deepest sibling first."""
        if not 0 <= index < size <= self.size:
            raise ValueError(f"no leaf {index} in a tree of size {size}")
        path: list[bytes] = []
        start, end = 0, size
        while end - start > 1:
            k = split_point(end - start)
            if index < start + k:
                path.append(self.subtree(start + k, end))
                end = start + k
            else:
                path.append(self.subtree(start, start + k))
                start += k
        path.reverse()
        return path

    def consistency_proof(self, first: int, second: int) -> list[bytes]:
        """PROOF(m, D[n]) of RFC 9162 section 2.1.4.1."""
        if not 0 < first <= second <= self.size:
            raise ValueError(f"no consistency proof from size {first} to {second}")
        proof: list[bytes] = []
        start, end, complete = 0, second, True
        while first != end:
            k = split_point(end - start)
            if first <= start + k:
                proof.append(self.subtree(start + k, end))
                end = start + k
            else:
                proof.append(self.subtree(start, start + k))
                start += k
                complete = False
        if not complete:
            proof.append(self.subtree(start, end))
        proof.reverse()
        return proof
