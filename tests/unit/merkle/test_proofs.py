"""Proof verifiers: RFC 6962 reference roots, and a typed error for every kind of bad input."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from attestgw.errors import AttestgwError, FormatError, VerificationError
from attestgw.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    node_hash,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)

# The eight leaves of the RFC 6962 / Certificate Transparency reference tests, and the roots of
# their first n leaves as published with them (also the roots in the transparency-dev vectors).
LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]
ROOTS = [
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
TREE = MerkleTree(leaf_hash(x) for x in LEAVES)
H = bytes(range(32))


def test_reference_roots() -> None:
    assert EMPTY_ROOT.hex() == ROOTS[0]
    assert leaf_hash(b"").hex() == ROOTS[1]
    assert [TREE.root(n).hex() for n in range(9)] == ROOTS


def test_leaf_and_node_hashes_are_domain_separated() -> None:
    # An interior node presented as a leaf must not hash to the same value (second-preimage defence).
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert leaf_hash(left + right) != node_hash(left, right)


InclusionArgs = tuple[bytes, int, int, list[bytes], bytes]


def _inclusion(index: int = 5, size: int = 8) -> InclusionArgs:
    return leaf_hash(LEAVES[index]), index, size, list(TREE.inclusion_proof(index, size)), TREE.root(size)


def test_inclusion_happy_path_for_every_leaf_and_size() -> None:
    for size in range(1, 9):
        for index in range(size):
            verify_inclusion(*_inclusion(index, size))


@pytest.mark.parametrize(
    ("case", "mutate", "error", "code"),
    [
        ("index equals size", lambda a: (a[0], 8, 8, a[3], a[4]), FormatError, "log.index_out_of_range"),
        (
            "index beyond uint64",
            lambda a: (a[0], 1 << 64, 8, a[3], a[4]),
            FormatError,
            "log.index_out_of_range",
        ),
        ("negative index", lambda a: (a[0], -1, 8, a[3], a[4]), FormatError, "log.index_out_of_range"),
        ("size zero", lambda a: (a[0], 0, 0, [], EMPTY_ROOT), FormatError, "log.index_out_of_range"),
        (
            "size beyond uint64",
            lambda a: (a[0], 5, 1 << 64, a[3], a[4]),
            FormatError,
            "log.tree_size_invalid",
        ),
        ("extra hash", lambda a: (*a[:3], [*a[3], H], a[4]), FormatError, "log.proof_malformed"),
        ("missing hash", lambda a: (*a[:3], a[3][:-1], a[4]), FormatError, "log.proof_malformed"),
        ("wrong size", lambda a: (a[0], a[1], 16, a[3], a[4]), FormatError, "log.proof_malformed"),
        (
            "short proof hash",
            lambda a: (*a[:3], [a[3][0][:31], *a[3][1:]], a[4]),
            FormatError,
            "log.hash_malformed",
        ),
        ("short leaf hash", lambda a: (a[0][:31], *a[1:]), FormatError, "log.hash_malformed"),
        ("short root", lambda a: (*a[:4], a[4][:31]), FormatError, "log.hash_malformed"),
        ("other leaf", lambda a: (leaf_hash(LEAVES[4]), *a[1:]), VerificationError, "log.proof_invalid"),
        ("other index", lambda a: (a[0], 4, *a[2:]), VerificationError, "log.proof_invalid"),
        ("other root", lambda a: (*a[:4], TREE.root(7)), VerificationError, "log.proof_invalid"),
        ("reordered path", lambda a: (*a[:3], a[3][::-1], a[4]), VerificationError, "log.proof_invalid"),
        ("leaf data as hash", lambda a: (LEAVES[7][:32] * 2, *a[1:]), VerificationError, "log.proof_invalid"),
    ],
)
def test_inclusion_rejections(
    case: str, mutate: Callable[[InclusionArgs], InclusionArgs], error: type[AttestgwError], code: str
) -> None:
    with pytest.raises(error) as info:
        verify_inclusion(*mutate(_inclusion()))
    assert info.value.code == code, case


def test_root_from_inclusion_proof_returns_the_implied_root() -> None:
    leaf, index, size, proof, root = _inclusion(2, 7)
    assert root_from_inclusion_proof(leaf, index, size, proof) == root


def test_consistency_happy_path_for_every_pair() -> None:
    for new in range(1, 9):
        for old in range(1, new + 1):
            verify_consistency(old, new, TREE.consistency_proof(old, new), TREE.root(old), TREE.root(new))


@pytest.mark.parametrize(
    ("case", "args", "error", "code"),
    [
        ("old > new", (6, 4, TREE.root(6), TREE.root(4), []), FormatError, "log.tree_size_invalid"),
        ("old = 0", (0, 8, EMPTY_ROOT, TREE.root(8), []), FormatError, "log.tree_size_invalid"),
        ("both 0", (0, 0, EMPTY_ROOT, EMPTY_ROOT, []), FormatError, "log.tree_size_invalid"),
        (
            "new beyond uint64",
            (1, 1 << 64, TREE.root(1), TREE.root(8), []),
            FormatError,
            "log.tree_size_invalid",
        ),
        (
            "equal sizes, proof given",
            (8, 8, TREE.root(8), TREE.root(8), [H]),
            FormatError,
            "log.proof_malformed",
        ),
        ("equal sizes, roots differ", (8, 8, TREE.root(8), H, []), VerificationError, "log.proof_invalid"),
        ("empty proof", (6, 8, TREE.root(6), TREE.root(8), []), FormatError, "log.proof_malformed"),
        (
            "short root",
            (6, 8, TREE.root(6)[:9], TREE.root(8), list(TREE.consistency_proof(6, 8))),
            FormatError,
            "log.hash_malformed",
        ),
        (
            "swapped roots",
            (6, 8, TREE.root(8), TREE.root(6), list(TREE.consistency_proof(6, 8))),
            VerificationError,
            "log.proof_invalid",
        ),
        (
            "proof for another new size",
            (6, 7, TREE.root(6), TREE.root(7), list(TREE.consistency_proof(6, 8))),
            VerificationError,
            "log.proof_invalid",
        ),
    ],
)
def test_consistency_rejections(
    case: str, args: tuple[int, int, list[bytes], bytes, bytes], error: type[AttestgwError], code: str
) -> None:
    old, new, old_root, new_root, proof = args
    with pytest.raises(error) as info:
        verify_consistency(old, new, proof, old_root, new_root)
    assert info.value.code == code, case


def test_subtree_inclusion_in_a_later_batch() -> None:
    # Leaves 4..7 as their own subtree [4, 8): the proof of leaf 6 is relative to that subtree.
    proof = TREE.subtree_inclusion_proof(6, 4, 8)
    verify_subtree_inclusion(
        leaf_hash(LEAVES[6]), 6, proof, start=4, end=8, subtree_hash=TREE.subtree_hash(4, 8)
    )
    with pytest.raises(FormatError) as info:
        verify_subtree_inclusion(leaf_hash(LEAVES[6]), 6, proof, start=3, end=7, subtree_hash=H)
    assert info.value.code == "log.tree_size_invalid"  # 3 is not a multiple of BIT_CEIL(4)
    with pytest.raises(FormatError) as info:
        verify_subtree_inclusion(leaf_hash(LEAVES[2]), 2, proof, start=4, end=8, subtree_hash=H)
    assert info.value.code == "log.index_out_of_range"


def test_subtree_consistency_edges() -> None:
    proof = TREE.subtree_consistency_proof(4, 6, 7)
    verify_subtree_consistency(4, 6, 7, proof, subtree_hash=TREE.subtree_hash(4, 6), root=TREE.root(7))
    with pytest.raises(VerificationError):
        verify_subtree_consistency(4, 6, 7, proof, subtree_hash=TREE.subtree_hash(4, 6), root=TREE.root(8))
    with pytest.raises(FormatError) as info:
        verify_subtree_consistency(4, 6, 5, proof, subtree_hash=H, root=H)
    assert info.value.code == "log.tree_size_invalid"  # end beyond the tree
    # The empty interval is trivially consistent, but only with MTH({}) and no proof.
    verify_subtree_consistency(3, 3, 5, [], subtree_hash=EMPTY_ROOT, root=H)
    with pytest.raises(VerificationError):
        verify_subtree_consistency(3, 3, 5, [], subtree_hash=H, root=H)
