"""Input checks shared by the proof verifiers: uint64 ranges, hash lengths, exact proof lengths.

Every proof verifier checks its integers and the *number* of proof hashes before it hashes anything:
the number of hashes a valid proof has is a function of the index and sizes alone, so a proof of the
wrong length is malformed (``log.proof_malformed``), not merely "does not verify".
"""

from __future__ import annotations

from collections.abc import Sequence

from attestgw.errors import FormatError
from attestgw.merkle.hashing import HASH_SIZE, MAX_TREE_SIZE

__all__ = ["check_proof", "check_u64", "show_bytes", "show_int"]


def show_int(value: int) -> str:
    """Decimal for messages, bounded: Python refuses to print integers of more than 4300 digits."""
    if value.bit_length() > 128:
        return f"<{value.bit_length()}-bit integer>"
    return str(value)


def show_bytes(value: bytes) -> str:
    """Lowercase hex for messages, cut after 64 bytes so a hostile input cannot flood a log line."""
    if len(value) > 64:
        return f"{value[:64].hex()}… ({len(value)} bytes)"
    return value.hex()


def check_u64(value: int, what: str, code: str) -> None:
    """Raise ``FormatError(code)`` unless ``0 <= value < 2^64``."""
    if not 0 <= value <= MAX_TREE_SIZE:
        raise FormatError(code, f"{what}: got {show_int(value)}, want 0 ≤ {what} < 2^64")


def check_proof(proof: Sequence[bytes], want: int) -> None:
    """Raise ``log.proof_malformed`` unless ``proof`` has exactly ``want`` hashes of 32 bytes each.

    The count is checked first so that a hostile proof with millions of entries is rejected without
    looking at them.
    """
    if len(proof) != want:
        raise FormatError(
            "log.proof_malformed", f"proof has {len(proof)} hashes, want {want} for these sizes"
        )
    for i, value in enumerate(proof):
        if len(value) != HASH_SIZE:
            raise FormatError(
                "log.hash_malformed", f"proof hash {i}: got {len(value)} bytes, want {HASH_SIZE}"
            )
