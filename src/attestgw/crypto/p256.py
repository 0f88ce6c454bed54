"""ECDSA P-256 / SHA-256 over raw ``r‖s`` signatures, as Intel DCAP uses them.

Intel signs TCB info and QE identity JSON, QE reports and quotes with ECDSA P-256/SHA-256 and
ships the signature as 64 bytes ``r‖s`` (big-endian, formats.md §3.3, §3.6). This module turns
that into DER for ``cryptography`` and answers yes or no. ``message`` is the exact signed bytes;
nothing is re-encoded.

Not checked here: where the key came from (the caller verifies its certificate chain first).
"""

from __future__ import annotations

from typing import TypeAlias

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

from attestgw.errors import VerificationError

__all__ = ["P256PublicKey", "p256_public_key", "verify_p256_sha256"]

#: The public-key type callers pass around without importing ``cryptography.hazmat``.
P256PublicKey: TypeAlias = ec.EllipticCurvePublicKey

_ECDSA_SHA256 = ec.ECDSA(hashes.SHA256())
# Order of the P-256 base point (SEC 2 v2, §2.4.2). r and s must lie in [1, n-1].
_P256_N = int("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551", 16)


def p256_public_key(cert: x509.Certificate, *, code: str) -> P256PublicKey:
    """The certificate's public key if it is EC P-256; ``VerificationError(code)`` otherwise."""
    try:
        key = cert.public_key()
    except (ValueError, UnsupportedAlgorithm) as exc:
        raise VerificationError(code, f"unreadable public key ({type(exc).__name__})") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or key.curve.name != "secp256r1":
        raise VerificationError(code, f"public key is {type(key).__name__}, want EC P-256")
    return key


def verify_p256_sha256(public_key: P256PublicKey, signature: bytes, message: bytes) -> bool:
    """True iff ``signature`` (64 bytes ``r‖s``) is a valid ECDSA P-256/SHA-256 signature.

    Returns False (never raises) for a wrong length, a key on another curve, or ``r``/``s``
    outside ``[1, n-1]``.
    """
    if len(signature) != 64:
        return False
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp256r1":
        return False
    r = int.from_bytes(signature[:32], "big")
    s = int.from_bytes(signature[32:], "big")
    if not (0 < r < _P256_N and 0 < s < _P256_N):
        return False
    try:
        public_key.verify(utils.encode_dss_signature(r, s), bytes(message), _ECDSA_SHA256)
    except InvalidSignature:
        return False
    return True
