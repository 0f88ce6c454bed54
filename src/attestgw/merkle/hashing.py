"""RFC 9162 §2.1.1 Merkle tree hashing with SHA-256: leaf and node hashes, and MTH over any size.

The one-byte prefixes (0x00 for leaves, 0x01 for interior nodes) are what stop an interior node from
being presented as a leaf (a second-preimage attack on the tree); every hash in this package goes
through :func:`leaf_hash` or :func:`node_hash`.

Not checked here: what the leaf bytes mean. Callers hash the exact bytes they store (canonical JSON
records in the evidence log), never a re-serialization.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from attestgw.errors import FormatError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "MAX_TREE_SIZE",
    "check_hash",
    "largest_power_of_two_below",
    "leaf_hash",
    "node_hash",
    "root_from_leaf_hashes",
]

#: Size in bytes of every hash in the tree (SHA-256).
HASH_SIZE = 32

#: MTH({}) = SHA-256 of the empty string (RFC 9162 §2.1.1).
EMPTY_ROOT = hashlib.sha256(b"").digest()

#: Indices and sizes are uint64 on the wire (RFC 9162 §4, C2SP checkpoints, tlog-tiles); anything
#: larger is rejected rather than silently accepted by Python's unbounded integers.
MAX_TREE_SIZE = (1 << 64) - 1

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(data: bytes) -> bytes:
    """``SHA-256(0x00 ‖ data)``: the hash of one log entry (RFC 9162 §2.1.1)."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """``SHA-256(0x01 ‖ left ‖ right)``: the hash of an interior node (RFC 9162 §2.1.1).

    Lengths are not checked here (this is the inner loop of every proof); callers check each hash
    that arrives from outside with :func:`check_hash` first.
    """
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def check_hash(value: bytes, what: str) -> bytes:
    """Return ``value`` if it is a 32-byte hash, else raise ``FormatError(log.hash_malformed)``."""
    if len(value) != HASH_SIZE:
        raise FormatError("log.hash_malformed", f"{what}: got {len(value)} bytes, want {HASH_SIZE}")
    return value


def largest_power_of_two_below(n: int) -> int:
    """The ``k`` of RFC 9162 §2.1.1: the largest power of two strictly smaller than ``n``.

    Defined only for ``n >= 2``; every caller splits a range of at least two leaves.
    """
    return 1 << ((n - 1).bit_length() - 1)


def root_from_leaf_hashes(leaf_hashes: Sequence[bytes]) -> bytes:
    """MTH of a list of leaf hashes, in O(n) hashes and O(log n) memory.

    Folds the leaves into perfect subtrees left to right (a stack of at most 64 hashes, one per set
    bit of the size), then joins those subtrees right to left, which is exactly the RFC 9162 split
    at the largest power of two. Each leaf hash must be 32 bytes (``log.hash_malformed``).
    """
    stack: list[tuple[int, bytes]] = []  # (height, hash) of perfect subtrees, heights decreasing
    for i, value in enumerate(leaf_hashes):
        current = check_hash(value, f"leaf hash {i}")
        height = 0
        while stack and stack[-1][0] == height:
            current = node_hash(stack.pop()[1], current)
            height += 1
        stack.append((height, current))
    if not stack:
        return EMPTY_ROOT
    root = stack[-1][1]
    for _, left in reversed(stack[:-1]):
        root = node_hash(left, root)
    return root
