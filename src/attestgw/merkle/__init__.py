"""The evidence log's formats (layer L1, pure: hashlib only, no crypto library, no I/O).

- RFC 9162 §2.1 Merkle tree: leaf/node hashing, :class:`MerkleTree` (append-only, cached subtrees,
  proofs for any older size), inclusion and consistency proof verifiers;
- subtree proofs of draft-ietf-plants-merkle-tree-certs §4 (for transparency-dev vectors and batches);
- C2SP signed-note text and key strings, and C2SP tlog-checkpoint text.

Signing and signature verification live in :mod:`attestgw.log.signing` (layer L4, through
:mod:`attestgw.crypto.note_keys`). The wire formats are described in ``docs/log-format.md``.
"""

from __future__ import annotations

from attestgw.merkle.checkpoint import Checkpoint, parse_checkpoint
from attestgw.merkle.hashing import (
    EMPTY_ROOT,
    HASH_SIZE,
    MAX_TREE_SIZE,
    largest_power_of_two_below,
    leaf_hash,
    node_hash,
    root_from_leaf_hashes,
)
from attestgw.merkle.note import (
    KEY_TYPE_ECDSA,
    KEY_TYPE_ED25519,
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    Note,
    NoteSignature,
    SignerKey,
    VerifierKey,
    compute_key_id,
    format_note,
    parse_note,
    parse_signer_key,
    parse_verifier_key,
)
from attestgw.merkle.proofs import (
    consistency_proof_length,
    inclusion_proof_length,
    root_from_inclusion_proof,
    verify_consistency,
    verify_inclusion,
)
from attestgw.merkle.subtree import (
    is_valid_subtree,
    subtree_consistency_proof_length,
    verify_subtree_consistency,
    verify_subtree_inclusion,
)
from attestgw.merkle.tree import MerkleTree

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "KEY_TYPE_ECDSA",
    "KEY_TYPE_ED25519",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "MAX_TREE_SIZE",
    "Checkpoint",
    "MerkleTree",
    "Note",
    "NoteSignature",
    "SignerKey",
    "VerifierKey",
    "compute_key_id",
    "consistency_proof_length",
    "format_note",
    "inclusion_proof_length",
    "is_valid_subtree",
    "largest_power_of_two_below",
    "leaf_hash",
    "node_hash",
    "parse_checkpoint",
    "parse_note",
    "parse_signer_key",
    "parse_verifier_key",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "subtree_consistency_proof_length",
    "verify_consistency",
    "verify_inclusion",
    "verify_subtree_consistency",
    "verify_subtree_inclusion",
]
