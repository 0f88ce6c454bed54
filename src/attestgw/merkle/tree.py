"""An append-only RFC 9162 Merkle tree over leaf hashes that generates roots and proofs for any size.

Every *perfect* subtree (2^h leaves starting at a multiple of 2^h) is hashed once, when its last leaf
is appended, and kept in one flat ``bytearray`` per level (32 bytes per node): about 64 bytes of memory
per leaf in total, so 1e6 leaves take ~64 MB. Any other node the RFC needs, the right edge of a tree
whose size is not a power of two, is a join of at most ~log2(n) cached perfect subtrees, so roots and
proofs for any older size cost O(log² n) hashes at worst, without touching the leaves.

Proof generation follows RFC 9162 §2.1.3.1 (PATH), §2.1.4.1 (PROOF/SUBPROOF) and the subtree
consistency proof of draft-ietf-plants-merkle-tree-certs §4.4.1 (SUBTREE_PROOF).

Not thread-safe: one writer, and no readers while it appends (the log service serializes appends).
Not persistent: storage rebuilds it from stored leaf hashes (``MerkleTree(leaf_hashes)``).
"""

from __future__ import annotations

from collections.abc import Iterable

from attestgw.errors import FormatError
from attestgw.merkle._checks import check_u64, show_int
from attestgw.merkle.hashing import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_TREE_SIZE,
    check_hash,
    largest_power_of_two_below,
    leaf_hash,
    node_hash,
)
from attestgw.merkle.subtree import is_valid_subtree

__all__ = ["MerkleTree"]


class MerkleTree:
    """Append-only list of leaf hashes with cached perfect-subtree hashes.

    Methods that take a ``size`` default to the current size and accept any older size, which is
    how a log serves proofs against checkpoints it signed earlier. Out-of-range arguments raise
    ``FormatError`` (``log.index_out_of_range`` / ``log.tree_size_invalid``), the same codes the
    verifiers use, so an API can pass them straight through.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        # _levels[h] holds the hashes of the perfect subtrees of height h, left to right.
        self._levels: list[bytearray] = [bytearray()]
        self.extend(leaf_hashes)

    def __len__(self) -> int:
        return len(self._levels[0]) // HASH_SIZE

    def __repr__(self) -> str:
        return f"MerkleTree(size={len(self)}, root={self.root().hex()})"

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return len(self)

    # -- appending ------------------------------------------------------------------------------

    def append(self, leaf_hash_value: bytes) -> int:
        """Append one leaf hash (``SHA-256(0x00 ‖ entry)``) and return its index."""
        check_hash(leaf_hash_value, "leaf hash")
        index = len(self)
        if index >= MAX_TREE_SIZE:
            raise FormatError("log.tree_size_invalid", "the tree is full (2^64 - 1 leaves)")
        levels = self._levels
        levels[0] += leaf_hash_value
        # Each time a node completes a pair (it is a right child), hash the pair one level up.
        node, i, level = leaf_hash_value, index, 0
        while i & 1:
            left = bytes(levels[level][(i - 1) * HASH_SIZE : i * HASH_SIZE])
            node = node_hash(left, node)
            level += 1
            if level == len(levels):
                levels.append(bytearray())
            levels[level] += node
            i >>= 1
        return index

    def append_entry(self, entry: bytes) -> int:
        """Append the leaf for the raw ``entry`` bytes (hashed with the 0x00 prefix); return its index."""
        return self.append(leaf_hash(entry))

    def extend(self, leaf_hashes: Iterable[bytes]) -> None:
        """Append many leaf hashes, in order."""
        for value in leaf_hashes:
            self.append(value)

    # -- reading --------------------------------------------------------------------------------

    def leaf_hash(self, index: int) -> bytes:
        """The leaf hash stored at ``index``."""
        self._check_index(index, len(self))
        return bytes(self._levels[0][index * HASH_SIZE : (index + 1) * HASH_SIZE])

    def root(self, size: int | None = None) -> bytes:
        """MTH of the first ``size`` leaves (default: all); ``MTH({})`` for size 0."""
        n = self._check_size(size)
        return self._range_hash(0, n)

    def subtree_hash(self, start: int, end: int) -> bytes:
        """``MTH(D[start:end])`` of a valid subtree (draft-ietf-plants-merkle-tree-certs §4.1)."""
        self._check_subtree(start, end)
        return self._range_hash(start, end)

    # -- proofs ---------------------------------------------------------------------------------

    def inclusion_proof(self, index: int, size: int | None = None) -> tuple[bytes, ...]:
        """RFC 9162 §2.1.3.1 PATH(index, D[0:size]): sibling hashes from the leaf up to the root."""
        n = self._check_size(size)
        self._check_index(index, n)
        return self._path(index, 0, n)

    def consistency_proof(self, old_size: int, new_size: int | None = None) -> tuple[bytes, ...]:
        """RFC 9162 §2.1.4.1 PROOF(old_size, D[0:new_size]); empty when the sizes are equal.

        ``old_size`` must satisfy ``0 < old_size <= new_size``: a proof from the empty tree is
        meaningless and :func:`~attestgw.merkle.verify_consistency` refuses it too.
        """
        n = self._check_size(new_size)
        check_u64(old_size, "old tree size", "log.tree_size_invalid")
        if not 0 < old_size <= n:
            raise FormatError(
                "log.tree_size_invalid", f"old tree size {show_int(old_size)} is not in [1, {n}]"
            )
        return self._subtree_proof(0, old_size, n)

    def subtree_inclusion_proof(self, index: int, start: int, end: int) -> tuple[bytes, ...]:
        """Inclusion proof of ``index`` in the valid subtree ``[start, end)`` (draft §4.3)."""
        self._check_subtree(start, end)
        if not start <= index < end:
            raise FormatError(
                "log.index_out_of_range", f"leaf index {show_int(index)} is outside [{start}, {end})"
            )
        return self._path(index - start, start, end)

    def subtree_consistency_proof(self, start: int, end: int, size: int | None = None) -> tuple[bytes, ...]:
        """SUBTREE_PROOF(start, end, D[0:size]) of draft-ietf-plants-merkle-tree-certs §4.4.1."""
        n = self._check_size(size)
        self._check_subtree(start, end)
        if end > n:
            raise FormatError("log.tree_size_invalid", f"subtree end {end} is beyond tree size {n}")
        return self._subtree_proof(start, end, n)

    # -- internals ------------------------------------------------------------------------------

    def _check_size(self, size: int | None) -> int:
        if size is None:
            return len(self)
        check_u64(size, "tree size", "log.tree_size_invalid")
        if size > len(self):
            raise FormatError(
                "log.tree_size_invalid", f"tree size {show_int(size)} is beyond the {len(self)} leaves held"
            )
        return size

    @staticmethod
    def _check_index(index: int, size: int) -> None:
        check_u64(index, "leaf index", "log.index_out_of_range")
        if index >= size:
            raise FormatError(
                "log.index_out_of_range", f"leaf index {show_int(index)} is not below tree size {size}"
            )

    def _check_subtree(self, start: int, end: int) -> None:
        check_u64(start, "subtree start", "log.tree_size_invalid")
        check_u64(end, "subtree end", "log.tree_size_invalid")
        if not is_valid_subtree(start, end) or end > len(self):
            raise FormatError(
                "log.tree_size_invalid",
                f"[{show_int(start)}, {show_int(end)}) is not a valid subtree of {len(self)} leaves",
            )

    def _perfect(self, level: int, position: int) -> bytes:
        row = self._levels[level]
        return bytes(row[position * HASH_SIZE : (position + 1) * HASH_SIZE])

    def _range_hash(self, start: int, end: int) -> bytes:
        """MTH(D[start:end]) for a range that is a node of some tree (start aligned to its size).

        Peels perfect left subtrees off the range (the RFC split at the largest power of two), then
        joins them right to left.
        """
        if start == end:
            return EMPTY_ROOT
        lefts: list[bytes] = []
        while True:
            n = end - start
            if n & (n - 1) == 0:  # perfect: cached
                level = n.bit_length() - 1
                node = self._perfect(level, start >> level)
                break
            k = largest_power_of_two_below(n)
            level = k.bit_length() - 1
            lefts.append(self._perfect(level, start >> level))
            start += k
        for left in reversed(lefts):
            node = node_hash(left, node)
        return node

    def _path(self, m: int, start: int, end: int) -> tuple[bytes, ...]:
        """PATH(m, D[start:end]), collected top-down and returned bottom-up as the RFC orders it."""
        siblings: list[bytes] = []
        while end - start > 1:
            k = largest_power_of_two_below(end - start)
            if m < k:
                siblings.append(self._range_hash(start + k, end))
                end = start + k
            else:
                siblings.append(self._range_hash(start, start + k))
                m -= k
                start += k
        siblings.reverse()
        return tuple(siblings)

    def _subtree_proof(self, start: int, end: int, size: int) -> tuple[bytes, ...]:
        """SUBTREE_SUBPROOF(start, end, D[0:size], true); with start = 0 it is RFC 9162 SUBPROOF."""
        nodes: list[bytes] = []
        lo, hi, known = 0, size, True  # current node [lo, hi); known: the verifier has its hash
        while not (start == lo and end == hi):
            k = largest_power_of_two_below(hi - lo)
            if end <= lo + k:  # subtree entirely left of the split
                nodes.append(self._range_hash(lo + k, hi))
                hi = lo + k
            elif lo + k <= start:  # entirely right of the split
                nodes.append(self._range_hash(lo, lo + k))
                lo += k
            else:  # straddles: start == lo; continue with its right part, whose hash is unknown
                nodes.append(self._range_hash(lo, lo + k))
                lo += k
                start = lo
                known = False
        if not known:
            nodes.append(self._range_hash(lo, hi))
        nodes.reverse()
        return tuple(nodes)
