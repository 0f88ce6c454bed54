"""Subtree inclusion and consistency proofs (draft-ietf-plants-merkle-tree-certs §4).

A *subtree* ``[start, end)`` of a tree is ``MTH(D[start:end])`` where ``start < end`` and ``start`` is a
multiple of ``BIT_CEIL(end - start)`` (§4.1). With ``start = 0`` a subtree is an older tree head, so a
subtree consistency proof from ``[0, m)`` is exactly an RFC 9162 consistency proof from size ``m``;
with ``end = start + 1`` it is an inclusion proof. transparency-dev/merkle ships vectors for both, and
the evidence log can use them to hand out proofs over a batch of entries.

Errors follow :mod:`attestgw.merkle.proofs`: ``FormatError`` for malformed claims (bad ranges, hash
lengths, proof lengths), ``VerificationError(log.proof_invalid)`` when the hashes do not match.

Not checked: that the subtree hash and root are authentic (verify the signatures that carry them).
The empty interval ``start == end`` is not a subtree in the draft; :func:`verify_subtree_consistency`
accepts it as trivially consistent when its hash is ``MTH({})`` and the proof is empty (as
transparency-dev does), and :func:`verify_subtree_inclusion` rejects it (it has no leaves).
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from attestgw.errors import FormatError, VerificationError
from attestgw.merkle._checks import check_proof, check_u64, show_bytes, show_int
from attestgw.merkle.hashing import EMPTY_ROOT, check_hash, node_hash
from attestgw.merkle.proofs import verify_inclusion

__all__ = [
    "is_valid_subtree",
    "subtree_consistency_proof_length",
    "verify_subtree_consistency",
    "verify_subtree_inclusion",
]


def is_valid_subtree(start: int, end: int) -> bool:
    """§4.1: ``0 <= start < end`` and ``start`` is a multiple of ``BIT_CEIL(end - start)``."""
    if not 0 <= start < end:
        return False
    bit_ceil = 1 << (end - start - 1).bit_length()
    return start % bit_ceil == 0


def _check_subtree(start: int, end: int) -> None:
    check_u64(start, "subtree start", "log.tree_size_invalid")
    check_u64(end, "subtree end", "log.tree_size_invalid")
    if not is_valid_subtree(start, end):
        raise FormatError(
            "log.tree_size_invalid", f"[{show_int(start)}, {show_int(end)}) is not a valid subtree"
        )


def verify_subtree_inclusion(
    leaf_hash: bytes, index: int, proof: Sequence[bytes], *, start: int, end: int, subtree_hash: bytes
) -> None:
    """Check that ``leaf_hash`` is entry ``index`` of the subtree ``[start, end)`` with ``subtree_hash``.

    §4.3.3: a valid subtree, ``start <= index < end``, then the RFC 9162 inclusion proof of
    ``index - start`` in a tree of ``end - start`` leaves.
    """
    # 1. [start, end) must be a valid subtree containing index.
    _check_subtree(start, end)
    check_u64(index, "leaf index", "log.index_out_of_range")
    if not start <= index < end:
        raise FormatError(
            "log.index_out_of_range", f"leaf index {show_int(index)} is outside the subtree [{start}, {end})"
        )
    # 2-6. Evaluate as an ordinary inclusion proof relative to the subtree.
    verify_inclusion(leaf_hash, index - start, end - start, proof, subtree_hash)


def _shift(fn: int, sn: int, tn: int) -> tuple[int, int, int]:
    return fn >> 1, sn >> 1, tn >> 1


def _skip_shared_levels(start: int, end: int, size: int) -> tuple[int, int, int]:
    """Steps 2-4 of §4.4.3: climb while the subtree's last node needs no sibling from the proof."""
    fn, sn, tn = start, end - 1, size - 1
    if sn == tn:
        while fn != sn:
            fn, sn, tn = _shift(fn, sn, tn)
    else:
        while fn != sn and sn & 1:
            fn, sn, tn = _shift(fn, sn, tn)
    return fn, sn, tn


def subtree_consistency_proof_length(start: int, end: int, size: int) -> int:
    """Number of hashes in the consistency proof of the valid subtree ``[start, end)`` (end ≤ size)."""
    fn, sn, tn = _skip_shared_levels(start, end, size)
    count = 0 if fn == sn else 1
    while tn:
        if sn & 1 or sn == tn:
            while sn & 1 == 0:
                fn, sn, tn = _shift(fn, sn, tn)
        count += 1
        fn, sn, tn = _shift(fn, sn, tn)
    return count


def verify_subtree_consistency(
    start: int, end: int, size: int, proof: Sequence[bytes], *, subtree_hash: bytes, root: bytes
) -> None:
    """Check that the subtree ``[start, end)`` with ``subtree_hash`` is part of the tree ``size``/``root``.

    §4.4.3. When the subtree is the whole tree (``start = 0, end = size``) the proof is empty and the
    two hashes are only compared; otherwise both must be 32 bytes.
    """
    check_u64(start, "subtree start", "log.tree_size_invalid")
    check_u64(end, "subtree end", "log.tree_size_invalid")
    check_u64(size, "tree size", "log.tree_size_invalid")
    if start > end or end > size:
        raise FormatError(
            "log.tree_size_invalid",
            f"subtree [{show_int(start)}, {show_int(end)}) does not fit in a tree of size {show_int(size)}",
        )
    if start == end:
        check_proof(proof, 0)
        if not hmac.compare_digest(subtree_hash, EMPTY_ROOT):
            raise VerificationError(
                "log.proof_invalid", f"empty subtree hash is {show_bytes(subtree_hash)}, want MTH({{}})"
            )
        return
    # 1. A valid subtree with end <= n.
    _check_subtree(start, end)
    whole_tree = start == 0 and end == size
    if not whole_tree:
        check_hash(subtree_hash, "subtree hash")
        check_hash(root, "root hash")
    check_proof(proof, subtree_consistency_proof_length(start, end, size))
    # 2-4. fn, sn, tn = start, end - 1, n - 1, raised past the levels the subtree shares with the tree.
    fn, sn, tn = _skip_shared_levels(start, end, size)
    # 5-6. Seed both running hashes: with the subtree hash if it is a node of the tree, else with the
    # first proof hash.
    rest = list(proof)
    if fn == sn:
        fr = sr = subtree_hash
    else:
        fr = sr = rest.pop(0)
    # 7. fr rebuilds the subtree hash (only from nodes inside it), sr the whole tree's root.
    for c in rest:
        if sn & 1 or sn == tn:
            if fn < sn:
                fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while sn & 1 == 0:
                fn, sn, tn = _shift(fn, sn, tn)
        else:
            sr = node_hash(sr, c)
        fn, sn, tn = _shift(fn, sn, tn)
    # 8. tn == 0 holds by the exact proof length; both hashes must match.
    if not (hmac.compare_digest(fr, subtree_hash) and hmac.compare_digest(sr, root)):
        raise VerificationError(
            "log.proof_invalid",
            f"subtree consistency proof [{start}, {end}) ⊂ {size} gives {fr.hex()} / {sr.hex()}, "
            f"want {show_bytes(subtree_hash)} / {show_bytes(root)}",
        )
