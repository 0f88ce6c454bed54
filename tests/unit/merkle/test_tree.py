"""MerkleTree: appending, reading back, and refusing out-of-range requests with the verifiers' codes."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from attestgw.errors import FormatError
from attestgw.merkle import (
    EMPTY_ROOT,
    MerkleTree,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)


def test_append_returns_consecutive_indices_and_stores_leaf_hashes() -> None:
    tree = MerkleTree()
    assert tree.size == 0
    assert tree.root() == EMPTY_ROOT
    assert [tree.append_entry(b"e%d" % i) for i in range(5)] == [0, 1, 2, 3, 4]
    assert len(tree) == 5
    assert tree.leaf_hash(3) == leaf_hash(b"e3")
    assert "size=5" in repr(tree)


def test_a_larger_tree_agrees_with_the_streaming_root_at_many_sizes() -> None:
    hashes = [leaf_hash(i.to_bytes(4, "big")) for i in range(3000)]
    tree = MerkleTree(hashes)
    for size in (1, 2, 3, 1023, 1024, 1025, 2047, 2999, 3000):
        assert tree.root(size) == root_from_leaf_hashes(hashes[:size])
    for index, size in ((0, 3000), (1024, 1025), (2999, 3000), (1500, 2048)):
        verify_inclusion(hashes[index], index, size, tree.inclusion_proof(index, size), tree.root(size))
    for old, new in ((1, 3000), (1024, 3000), (1025, 2049), (2999, 3000)):
        verify_consistency(old, new, tree.consistency_proof(old, new), tree.root(old), tree.root(new))


@pytest.mark.parametrize(
    ("call", "code"),
    [
        (lambda t: t.append(b"\x00" * 31), "log.hash_malformed"),
        (lambda t: t.leaf_hash(4), "log.index_out_of_range"),
        (lambda t: t.root(5), "log.tree_size_invalid"),
        (lambda t: t.root(-1), "log.tree_size_invalid"),
        (lambda t: t.inclusion_proof(3, 3), "log.index_out_of_range"),
        (lambda t: t.inclusion_proof(0, 9), "log.tree_size_invalid"),
        (lambda t: t.consistency_proof(0, 4), "log.tree_size_invalid"),
        (lambda t: t.consistency_proof(4, 3), "log.tree_size_invalid"),
        (lambda t: t.subtree_hash(1, 3), "log.tree_size_invalid"),
        (lambda t: t.subtree_hash(0, 5), "log.tree_size_invalid"),
        (lambda t: t.subtree_inclusion_proof(0, 2, 4), "log.index_out_of_range"),
        (lambda t: t.subtree_consistency_proof(2, 4, 3), "log.tree_size_invalid"),
    ],
)
def test_out_of_range_requests_raise_typed_errors(call: Callable[[MerkleTree], object], code: str) -> None:
    tree = MerkleTree(leaf_hash(b"%d" % i) for i in range(4))
    with pytest.raises(FormatError) as info:
        call(tree)
    assert info.value.code == code
    assert tree.size == 4  # a refused call changes nothing
