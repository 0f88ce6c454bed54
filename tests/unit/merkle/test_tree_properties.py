"""Property tests: MerkleTree and the verifiers agree with a naive recursive RFC 9162 tree."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import FormatError, VerificationError
from attestgw.merkle import (
    MerkleTree,
    consistency_proof_length,
    inclusion_proof_length,
    is_valid_subtree,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)
from tests.unit.merkle import reference


def _entries(n: int) -> list[bytes]:
    # Distinct, variable-length entries (including the empty one) so a swapped leaf changes the root.
    return [i.to_bytes(4, "big")[: i % 5] + bytes([i & 0xFF]) * (i % 3) for i in range(n)]


@st.composite
def sizes_and_index(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, 140))
    return size, draw(st.integers(0, size - 1))


@st.composite
def old_and_new(draw: st.DrawFn) -> tuple[int, int]:
    new = draw(st.integers(1, 140))
    return draw(st.integers(1, new)), new


@st.composite
def subtree_and_size(draw: st.DrawFn) -> tuple[int, int, int]:
    size = draw(st.integers(1, 140))
    height = draw(st.integers(0, size.bit_length()))
    width = 1 << height
    start = draw(st.integers(0, (size - 1) // width)) * width
    end = draw(st.integers(start + 1, min(start + width, size)))
    return start, end, size


def _flip(proof: tuple[bytes, ...], i: int) -> list[bytes]:
    out = list(proof)
    out[i] = bytes([out[i][0] ^ 1]) + out[i][1:]
    return out


@settings(max_examples=150, deadline=None)
@given(st.integers(0, 300))
def test_roots_match_reference_for_every_older_size(n: int) -> None:
    entries = _entries(n)
    tree = MerkleTree(leaf_hash(e) for e in entries)
    assert tree.root() == reference.mth(entries)
    assert root_from_leaf_hashes([leaf_hash(e) for e in entries]) == reference.mth(entries)
    for older in sorted({0, min(1, n), n // 3, n // 2, max(n - 1, 0)}):
        assert tree.root(older) == reference.mth(entries[:older])


@settings(max_examples=300, deadline=None)
@given(sizes_and_index())
def test_inclusion_proofs_match_reference_and_verify(case: tuple[int, int]) -> None:
    size, index = case
    entries = _entries(size)
    tree = MerkleTree(leaf_hash(e) for e in entries)
    proof = tree.inclusion_proof(index)
    assert list(proof) == reference.path(index, entries)
    assert len(proof) == inclusion_proof_length(index, size)
    root = reference.mth(entries)
    verify_inclusion(leaf_hash(entries[index]), index, size, proof, root)
    # Any flipped bit in the path, or another leaf's bytes, must be refused.
    for i in range(len(proof)):
        with pytest.raises(VerificationError) as info:
            verify_inclusion(leaf_hash(entries[index]), index, size, _flip(proof, i), root)
        assert info.value.code == "log.proof_invalid"
    with pytest.raises(VerificationError):
        verify_inclusion(leaf_hash(entries[index] + b"x"), index, size, proof, root)


@settings(max_examples=300, deadline=None)
@given(old_and_new())
def test_consistency_proofs_match_reference_and_verify(case: tuple[int, int]) -> None:
    old, new = case
    entries = _entries(new)
    tree = MerkleTree(leaf_hash(e) for e in entries)
    proof = tree.consistency_proof(old, new)
    assert list(proof) == reference.proof(old, entries)
    assert len(proof) == consistency_proof_length(old, new)
    old_root, new_root = reference.mth(entries[:old]), reference.mth(entries)
    verify_consistency(old, new, proof, old_root, new_root)
    # RFC 9162 consistency is the subtree proof of [0, old): both verifiers must accept it.
    verify_subtree_consistency(0, old, new, proof, subtree_hash=old_root, root=new_root)
    for i in range(len(proof)):
        with pytest.raises(VerificationError):
            verify_consistency(old, new, _flip(proof, i), old_root, new_root)


@settings(max_examples=200, deadline=None)
@given(old_and_new(), st.integers(0, 139))
def test_a_rewritten_history_is_never_consistent(case: tuple[int, int], changed: int) -> None:
    """A log that rewrote entry ``changed`` (< old) cannot prove consistency with its old head."""
    old, new = case
    changed %= old
    entries = _entries(new)
    forked = [*entries[:changed], entries[changed] + b"!", *entries[changed + 1 :]]
    proof = MerkleTree(leaf_hash(e) for e in forked).consistency_proof(old, new)
    with pytest.raises((VerificationError, FormatError)):
        verify_consistency(old, new, proof, reference.mth(entries[:old]), reference.mth(forked))


@settings(max_examples=300, deadline=None)
@given(subtree_and_size(), st.integers(0, 1 << 20))
def test_subtree_proofs_match_reference_and_verify(case: tuple[int, int, int], pick: int) -> None:
    start, end, size = case
    assert is_valid_subtree(start, end)
    entries = _entries(size)
    tree = MerkleTree(leaf_hash(e) for e in entries)
    sub_hash = tree.subtree_hash(start, end)
    assert sub_hash == reference.mth(entries[start:end])
    proof = tree.subtree_consistency_proof(start, end, size)
    assert list(proof) == reference.subtree_proof(start, end, entries)
    verify_subtree_consistency(start, end, size, proof, subtree_hash=sub_hash, root=tree.root())
    index = start + pick % (end - start)
    inclusion = tree.subtree_inclusion_proof(index, start, end)
    assert list(inclusion) == reference.path(index - start, entries[start:end])
    verify_subtree_inclusion(
        leaf_hash(entries[index]), index, inclusion, start=start, end=end, subtree_hash=sub_hash
    )


def test_appending_keeps_every_earlier_proof_valid() -> None:
    """The append-only promise: proofs served at an old size still verify after more appends."""
    tree = MerkleTree()
    served = []
    for i in range(70):
        tree.append_entry(b"entry %d" % i)
        served.append((tree.size, tree.root(), tree.inclusion_proof(i // 2)))
    for size, root, proof in served:
        verify_inclusion(leaf_hash(b"entry %d" % ((size - 1) // 2)), (size - 1) // 2, size, proof, root)
        assert tree.root(size) == root
        verify_consistency(size, tree.size, tree.consistency_proof(size), root, tree.root())
