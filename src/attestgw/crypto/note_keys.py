"""Signature primitives for C2SP signed notes: Ed25519 sign/verify, ECDSA P-256 verify.

Ed25519 (RFC 8032, signed-note type 0x01) is what the evidence log signs checkpoints with. ECDSA
P-256 with SHA-256 and a DER signature (type 0x02) is only *verified*: it is what Rekor and
transparency-dev witnesses sign their checkpoints with.

Keys travel as bytes: a 32-byte Ed25519 seed (secret), a 32-byte Ed25519 public key, or an ECDSA
public key as SubjectPublicKeyInfo DER. Verification returns ``bool`` and never raises for a bad
signature; a public key that cannot be decoded raises ``FormatError(log.key_invalid)``.

Not done here: key ids, note framing, or deciding which keys to trust (see
:mod:`attestgw.log.signing`). ECDSA keys on curves other than P-256 are refused.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from attestgw.errors import FormatError

__all__ = [
    "ecdsa_p256_check_public_key",
    "ecdsa_p256_spki_from_pem",
    "ecdsa_p256_verify",
    "ed25519_generate_seed",
    "ed25519_public_key",
    "ed25519_sign",
    "ed25519_signer",
    "ed25519_verifier",
    "ed25519_verify",
]


def ed25519_generate_seed() -> bytes:
    """A fresh 32-byte Ed25519 private key seed from the OS CSPRNG."""
    return os.urandom(32)


def _private(seed: bytes) -> ed25519.Ed25519PrivateKey:
    if len(seed) != 32:
        raise FormatError("log.key_invalid", f"Ed25519 seed is {len(seed)} bytes, want 32")
    return ed25519.Ed25519PrivateKey.from_private_bytes(seed)


def ed25519_public_key(seed: bytes) -> bytes:
    """The 32-byte RFC 8032 public key for ``seed``."""
    return _private(seed).public_key().public_bytes_raw()


def ed25519_sign(seed: bytes, message: bytes) -> bytes:
    """RFC 8032 Ed25519 signature (64 bytes) of ``message``; deterministic."""
    return _private(seed).sign(message)


def ed25519_signer(seed: bytes) -> Callable[[bytes], bytes]:
    """A signing function for ``seed`` that keeps the expanded key (for signers on a hot path)."""
    return _private(seed).sign


def ed25519_verifier(public_key: bytes) -> Callable[[bytes, bytes], bool]:
    """``verify(message, signature) -> bool`` for ``public_key``, with the point decoded once (for
    verifiers on a hot path). Same answers as :func:`ed25519_verify`; a public key that is not 32
    bytes raises ``FormatError(log.key_invalid)`` now, one that is not a valid point never verifies."""
    if len(public_key) != 32:
        raise FormatError("log.key_invalid", f"Ed25519 public key is {len(public_key)} bytes, want 32")
    try:
        key = ed25519.Ed25519PublicKey.from_public_bytes(public_key)
    except ValueError:
        return lambda message, signature: False

    def verify(message: bytes, signature: bytes) -> bool:
        try:
            key.verify(signature, message)
        except (InvalidSignature, ValueError):
            return False
        return True

    return verify


def ed25519_verify(public_key: bytes, message: bytes, signature: bytes) -> bool:
    """True iff ``signature`` is a valid Ed25519 signature of ``message`` by ``public_key``.

    A public key that is not 32 bytes raises ``FormatError(log.key_invalid)``; a 32-byte value that
    is not a valid point simply fails to verify (OpenSSL's behaviour, checked by Wycheproof tests).
    """
    if len(public_key) != 32:
        raise FormatError("log.key_invalid", f"Ed25519 public key is {len(public_key)} bytes, want 32")
    try:
        key = ed25519.Ed25519PublicKey.from_public_bytes(public_key)
        key.verify(signature, message)
    except (InvalidSignature, ValueError):
        return False
    return True


def _p256(spki_der: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(spki_der)
    except (ValueError, TypeError) as exc:
        raise FormatError("log.key_invalid", f"ECDSA public key is not SPKI DER: {exc}") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise FormatError("log.key_invalid", "ECDSA note keys must be NIST P-256")
    return key


def ecdsa_p256_check_public_key(spki_der: bytes) -> None:
    """Raise ``FormatError(log.key_invalid)`` unless ``spki_der`` is a P-256 SubjectPublicKeyInfo."""
    _p256(spki_der)


def ecdsa_p256_spki_from_pem(pem: bytes) -> bytes:
    """SPKI DER of a PEM ``PUBLIC KEY`` that holds a P-256 key (the form Rekor publishes)."""
    try:
        key = serialization.load_pem_public_key(pem)
    except (ValueError, TypeError) as exc:
        raise FormatError("log.key_invalid", f"not a PEM public key: {exc}") from None
    der = key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    _p256(der)
    return der


def ecdsa_p256_verify(spki_der: bytes, message: bytes, signature: bytes) -> bool:
    """True iff ``signature`` (DER ECDSA) is valid for SHA-256(``message``) under the P-256 key."""
    key = _p256(spki_der)
    try:
        key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
    except (InvalidSignature, ValueError):
        return False
    return True
