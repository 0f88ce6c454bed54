"""Verify RFC 9162 Merkle inclusion (§2.1.3.2) and consistency (§2.1.4.2) proofs, SHA-256 only.

Each verifier returns ``None`` when the proof holds and raises otherwise:

- ``FormatError`` when the claim is malformed before any hashing: an index or size outside
  ``[0, 2^64)`` or out of order (``log.index_out_of_range``, ``log.tree_size_invalid``), a hash that is
  not 32 bytes (``log.hash_malformed``), or a proof with the wrong number of hashes for the claimed
  index and sizes (``log.proof_malformed``);
- ``VerificationError(log.proof_invalid)`` when the proof does not reproduce the expected root.

Numbered comments follow the RFC steps. What is *not* checked: that the leaf hash was computed from the
entry bytes (the caller must do that with :func:`attestgw.merkle.leaf_hash`, never accept a leaf hash
from the party that supplied the proof), and that the roots are authentic (verify the signed checkpoint
first). A consistency proof from a tree of size 0 is refused (``log.tree_size_invalid``): the empty tree
commits to nothing, so a client with no earlier checkpoint has nothing to check.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence

from attestgw.errors import FormatError, VerificationError
from attestgw.merkle._checks import check_proof, check_u64, show_bytes, show_int
from attestgw.merkle.hashing import check_hash, node_hash

__all__ = [
    "consistency_proof_length",
    "inclusion_proof_length",
    "root_from_inclusion_proof",
    "verify_consistency",
    "verify_inclusion",
]


def inclusion_proof_length(index: int, size: int) -> int:
    """Number of hashes in the inclusion proof of leaf ``index`` in a tree of ``size`` (index < size).

    Runs the control flow of RFC 9162 §2.1.3.2 without hashing: it depends only on the two integers.
    """
    fn, sn, count = index, size - 1, 0
    while sn:
        if fn & 1 == 0 and fn == sn:
            while fn and fn & 1 == 0:
                fn >>= 1
                sn >>= 1
        count += 1
        fn >>= 1
        sn >>= 1
    return count


def consistency_proof_length(old_size: int, new_size: int) -> int:
    """Number of hashes in the consistency proof from ``old_size`` to ``new_size`` (0 < old ≤ new)."""
    if old_size == new_size:
        return 0
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    count = 1  # the first hash seeds both running roots (step 3)
    while sn:
        if fn & 1 == 0 and fn == sn:
            while fn and fn & 1 == 0:
                fn >>= 1
                sn >>= 1
        count += 1
        fn >>= 1
        sn >>= 1
    # When old_size is a power of two the verifier prepends the old root itself (step 1), so the
    # proof carries one hash fewer.
    return count - 1 if old_size & (old_size - 1) == 0 else count


def root_from_inclusion_proof(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes]) -> bytes:
    """The root that ``proof`` implies for ``leaf_hash`` at ``index`` in a tree of ``size``.

    RFC 9162 §2.1.3.2 without its final comparison. Raises ``FormatError`` for malformed input (see
    the module docstring); never raises ``VerificationError``.
    """
    check_u64(size, "tree size", "log.tree_size_invalid")
    check_u64(index, "leaf index", "log.index_out_of_range")
    # 1. leaf_index must be inside the tree.
    if index >= size:
        raise FormatError(
            "log.index_out_of_range", f"leaf index {show_int(index)} is not below tree size {show_int(size)}"
        )
    check_hash(leaf_hash, "leaf hash")
    # The RFC's "fail if sn is 0 before the path ends" and "sn must be 0 after it" are exactly a
    # check on the path length, made here before hashing.
    check_proof(proof, inclusion_proof_length(index, size))
    # 2. fn = leaf_index, sn = tree_size - 1, r = leaf_hash.
    fn, sn, r = index, size - 1, leaf_hash
    # 3. Fold in each sibling: from the left when fn is a right child or the last node of its level.
    for p in proof:
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while fn and fn & 1 == 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes) -> None:
    """Check that ``leaf_hash`` is leaf ``index`` of the tree of ``size`` leaves whose root is ``root``.

    RFC 9162 §2.1.3.2. ``root`` must be 32 bytes (``log.hash_malformed``); the comparison is
    constant-time. Raises ``VerificationError(log.proof_invalid)`` when the path leads elsewhere.
    """
    check_hash(root, "root hash")
    computed = root_from_inclusion_proof(leaf_hash, index, size, proof)
    # 4. Compare the computed root with the expected one.
    if not hmac.compare_digest(computed, root):
        raise VerificationError(
            "log.proof_invalid",
            f"inclusion proof for leaf {index} of {size} gives root {computed.hex()}, want {root.hex()}",
        )


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends the tree of ``old_size``/``old_root``.

    RFC 9162 §2.1.4.2. Requires ``0 < old_size <= new_size`` (``log.tree_size_invalid``). When the
    sizes are equal the proof must be empty and the roots equal; in that case the roots are only
    compared, not length-checked (two identical values are trivially consistent). Otherwise both
    roots must be 32 bytes.
    """
    check_u64(old_size, "old tree size", "log.tree_size_invalid")
    check_u64(new_size, "new tree size", "log.tree_size_invalid")
    if old_size > new_size:
        raise FormatError(
            "log.tree_size_invalid",
            f"old tree size {show_int(old_size)} is larger than new tree size {show_int(new_size)}",
        )
    if old_size == 0:
        raise FormatError(
            "log.tree_size_invalid", "a consistency proof from the empty tree proves nothing; skip the check"
        )
    if old_size == new_size:
        check_proof(proof, 0)
        if not hmac.compare_digest(old_root, new_root):
            raise VerificationError(
                "log.proof_invalid",
                f"same tree size {old_size} but roots {show_bytes(old_root)} "
                f"and {show_bytes(new_root)} differ",
            )
        return
    check_hash(old_root, "old root hash")
    check_hash(new_root, "new root hash")
    check_proof(proof, consistency_proof_length(old_size, new_size))
    # 1. If the old tree is a perfect subtree of the new one, its root is the first node of the path.
    path = list(proof)
    if old_size & (old_size - 1) == 0:
        path.insert(0, old_root)
    # 2. fn = first - 1, sn = second - 1; skip the levels where the old tree is a right child.
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # 3. Rebuild both roots from the shared path: fr only takes nodes left of the old tree's edge.
    fr = sr = path[0]
    for c in path[1:]:
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while fn and fn & 1 == 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    # 4. Both rebuilt roots must match (sn == 0 is guaranteed by the exact path length).
    if not (hmac.compare_digest(fr, old_root) and hmac.compare_digest(sr, new_root)):
        raise VerificationError(
            "log.proof_invalid",
            f"consistency proof {old_size} → {new_size} gives roots {fr.hex()} / {sr.hex()}, "
            f"want {old_root.hex()} / {new_root.hex()}",
        )
