"""Proofs from stored perfect subtrees, so a proof reads O(log n) hashes, not n leaves.

Every perfect subtree of the log (``2**level`` leaves starting at ``idx * 2**level``) is
immutable once its last leaf is appended; the PostgreSQL writer stores each one as it
completes (level 0 is the entry's own leaf hash). Any range the RFC 9162 proof
algorithms ask for either is such a subtree or splits, by the same rule MTH splits, into
a handful of them along the tree's right edge. A proof is therefore made in two passes
over the same algorithm: the first only records which nodes it touches
(:class:`NodePlan`), one query fetches them, the second computes (:class:`NodeTree`).
"""

from __future__ import annotations

from collections.abc import Mapping

from gateway.audit.merkle import EMPTY_ROOT, Frontier, MerkleTree, PrunedRange, split_point
from gateway.audit.proofcheck import node_hash

NodeKey = tuple[int, int]
"""``(level, idx)``: the perfect subtree over leaves ``[idx << level, (idx + 1) << level)``."""


def perfect(start: int, end: int) -> NodeKey | None:
    width = end - start
    if width > 0 and width & (width - 1) == 0 and start % width == 0:
        level = width.bit_length() - 1
        return level, start >> level
    return None


def span(key: NodeKey) -> tuple[int, int]:
    level, idx = key
    return idx << level, (idx + 1) << level


class NodeTree(MerkleTree):
    """The RFC 9162 proof algorithms of :class:`MerkleTree` over stored nodes."""

    def __init__(self, size: int, nodes: Mapping[NodeKey, bytes], pruned: int = 0) -> None:
        super().__init__([])
        self._size = size
        self._nodes = nodes
        self._pruned = pruned

    @property
    def size(self) -> int:
        return self._size

    def subtree(self, start: int, end: int) -> bytes:
        key = perfect(start, end)
        if key is None:
            k = split_point(end - start)
            return node_hash(self.subtree(start, start + k), self.subtree(start + k, end))
        return self._node(key)

    def _node(self, key: NodeKey) -> bytes:
        found = self._nodes.get(key)
        if found is None:
            start, end = span(key)
            if start < self._pruned:
                raise PrunedRange(f"entries {start}..{end - 1} were removed by retention")
            raise LookupError(f"the stored tree lacks the node over entries {start}..{end - 1}")
        return found

    def root(self, size: int | None = None) -> bytes:
        size = self.size if size is None else size
        return EMPTY_ROOT if size == 0 else self.subtree(0, size)


class NodePlan(NodeTree):
    """A dry run: answers zeros and remembers every node the algorithm asked for."""

    def __init__(self, size: int) -> None:
        super().__init__(size, {})
        self.keys: set[NodeKey] = set()

    def _node(self, key: NodeKey) -> bytes:
        self.keys.add(key)
        return bytes(32)


def inclusion_keys(index: int, size: int) -> set[NodeKey]:
    plan = NodePlan(size)
    plan.inclusion_path(index, size)
    return plan.keys


def consistency_keys(first: int, second: int) -> set[NodeKey]:
    plan = NodePlan(second)
    plan.consistency_proof(first, second)
    plan.root(second)
    return plan.keys


def frontier_keys(size: int) -> list[NodeKey]:
    """The nodes whose hashes are the frontier at ``size`` (largest first)."""
    keys = []
    start = 0
    for bit in reversed(range(size.bit_length())):
        if size >> bit & 1:
            keys.append((bit, start >> bit))
            start += 1 << bit
    return keys


def frontier_from(size: int, nodes: Mapping[NodeKey, bytes]) -> Frontier:
    return Frontier(size, [nodes[key] for key in frontier_keys(size)])


def append_leaf(frontier: Frontier, leaf: bytes) -> list[tuple[NodeKey, bytes]]:
    """Append ``leaf`` to ``frontier`` (as :meth:`Frontier.append` does) and return the
    perfect subtrees above level 0 the append completed: what a bulk loader stores
    beside the leaves, exactly as ``audit_append`` does in the server."""
    frontier.hashes.append(leaf)
    frontier.size += 1
    done = []
    n, level = frontier.size, 0
    while n & 1 == 0:
        right = frontier.hashes.pop()
        frontier.hashes[-1] = node_hash(frontier.hashes[-1], right)
        n >>= 1
        level += 1
        done.append(((level, n - 1), frontier.hashes[-1]))
    return done
