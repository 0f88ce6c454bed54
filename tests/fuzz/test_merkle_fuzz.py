"""Fuzz properties: on arbitrary input only attestgw's own errors escape, and valid input round-trips.

Parsers (notes, checkpoints, key strings) may raise only ``FormatError``. Proof verifiers and
``verify_note`` may raise only ``FormatError`` (malformed) or ``VerificationError`` (does not verify):
never ``ValueError``, ``IndexError``, ``OverflowError``, a recursion error or a hang, whatever the
integers (negative, beyond 2^64, thousands of digits) or bytes.
"""

from __future__ import annotations

import base64
import contextlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from attestgw.errors import FormatError, VerificationError
from attestgw.log import NoteSigner, sign_checkpoint, verify_checkpoint, verify_note
from attestgw.merkle import (
    Checkpoint,
    MerkleTree,
    format_note,
    leaf_hash,
    parse_checkpoint,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
    verify_consistency,
    verify_inclusion,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)

SIGNER = NoteSigner.from_seed("fuzz.example/log", bytes(range(32)))
TREE = MerkleTree(leaf_hash(b"%d" % i) for i in range(37))
VALID_NOTE = sign_checkpoint(Checkpoint("fuzz.example/log", 37, TREE.root()), SIGNER)

# Integers that matter: small sizes, uint64 edges, negatives, and values far beyond 64 bits.
ints = st.one_of(
    st.integers(-3, 70),
    st.sampled_from([(1 << 63) - 1, 1 << 63, (1 << 64) - 1, 1 << 64, -(1 << 64)]),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.just(10**5000),
)
hashes = st.one_of(st.binary(min_size=32, max_size=32), st.binary(max_size=40))
proofs = st.lists(hashes, max_size=70)
note_text = st.text(alphabet=st.characters(codec="utf-8"), max_size=300)


@settings(max_examples=500, deadline=None)
@given(st.binary(max_size=2000))
def test_parse_note_raises_only_format_error(data: bytes) -> None:
    try:
        note = parse_note(data)
    except FormatError:
        return
    assert format_note(note) == data  # anything accepted is canonical


@settings(max_examples=500, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(VALID_NOTE) - 1), st.integers(0, 255)), max_size=4))
def test_mutated_signed_checkpoints_fail_cleanly(flips: list[tuple[int, int]]) -> None:
    """Near-valid input reaches deep: byte edits either leave the note valid or fail with our errors."""
    data = bytearray(VALID_NOTE)
    for position, value in flips:
        data[position] = value
    try:
        verify_checkpoint(bytes(data), [SIGNER.verifier], origin="fuzz.example/log")
    except (FormatError, VerificationError):
        return
    # Canonical framing and non-malleable Ed25519: the only accepted spelling is the original.
    assert bytes(data) == VALID_NOTE


@settings(max_examples=300, deadline=None)
@given(note_text, st.lists(st.tuples(note_text, st.binary(max_size=80)), max_size=4))
def test_structured_notes_fail_cleanly(text: str, lines: list[tuple[str, bytes]]) -> None:
    data = (text + "\n" + "".join(f"— {n} {base64.b64encode(s).decode()}\n" for n, s in lines)).encode()
    try:
        verify_note(data, [SIGNER.verifier])
    except (FormatError, VerificationError):
        return
    raise AssertionError("a note without a signature from the trusted key was accepted")


@settings(max_examples=500, deadline=None)
@given(note_text)
def test_parse_checkpoint_raises_only_format_error(text: str) -> None:
    try:
        checkpoint = parse_checkpoint(text)
    except FormatError:
        return
    assert checkpoint.to_text() == text


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=200))
def test_key_string_parsers_raise_only_format_error(text: str) -> None:
    for parse in (parse_verifier_key, parse_signer_key):
        try:
            key = parse(text)
        except FormatError:
            continue
        assert key.name  # a key that parses always names its signer
        assert key.name in text


@settings(max_examples=400, deadline=None)
@given(hashes, ints, ints, proofs, hashes)
def test_verify_inclusion_fails_cleanly(
    leaf: bytes, index: int, size: int, proof: list[bytes], root: bytes
) -> None:
    try:
        verify_inclusion(leaf, index, size, proof, root)
    except (FormatError, VerificationError):
        return


@settings(max_examples=400, deadline=None)
@given(ints, ints, hashes, hashes, proofs)
def test_verify_consistency_fails_cleanly(
    old: int, new: int, r1: bytes, r2: bytes, proof: list[bytes]
) -> None:
    try:
        verify_consistency(old, new, proof, r1, r2)
    except (FormatError, VerificationError):
        return
    # Random input can only verify trivially: equal sizes and equal roots with an empty proof.
    assert old == new
    assert r1 == r2
    assert not proof


@settings(max_examples=400, deadline=None)
@given(ints, ints, ints, hashes, hashes, proofs, hashes)
def test_verify_subtree_proofs_fail_cleanly(
    start: int, end: int, size: int, h1: bytes, h2: bytes, proof: list[bytes], leaf: bytes
) -> None:
    with contextlib.suppress(FormatError, VerificationError):
        verify_subtree_consistency(start, end, size, proof, subtree_hash=h1, root=h2)
    with contextlib.suppress(FormatError, VerificationError):
        verify_subtree_inclusion(leaf, size, proof, start=start, end=end, subtree_hash=h1)


@settings(max_examples=200, deadline=None)
@given(st.integers(1, 37), st.integers(0, 36), st.integers(0, 31), st.integers(1, 255))
def test_one_flipped_bit_breaks_a_real_proof(size: int, index: int, byte: int, mask: int) -> None:
    index %= size
    proof = list(TREE.inclusion_proof(index, size))
    root = TREE.root(size)
    if not proof:
        root = bytes([root[0] ^ mask]) + root[1:]
    else:
        k = byte % len(proof)
        proof[k] = proof[k][:byte] + bytes([proof[k][byte] ^ mask]) + proof[k][byte + 1 :]
    with pytest.raises(VerificationError) as info:
        verify_inclusion(TREE.leaf_hash(index), index, size, proof, root)
    assert info.value.code == "log.proof_invalid"
