"""The signed evidence log (layer L4). So far: signing and verifying notes and checkpoints.

The Merkle tree, proofs and text formats are in :mod:`attestgw.merkle` (layer L1); storage, the
gateway API and the audit CLI come later (issue 5).
"""

from __future__ import annotations

from attestgw.log.signing import (
    NoteSigner,
    NoteVerifier,
    VerifiedCheckpoint,
    VerifiedNote,
    sign_checkpoint,
    sign_note,
    verify_checkpoint,
    verify_note,
)

__all__ = [
    "NoteSigner",
    "NoteVerifier",
    "VerifiedCheckpoint",
    "VerifiedNote",
    "sign_checkpoint",
    "sign_note",
    "verify_checkpoint",
    "verify_note",
]
