"""The quote's attestation key: raw P-256 ``x‖y`` (formats.md §3.3) → a public-key object.

``attestgw.crypto.p256`` only takes keys from certificates, and ``cryptography.hazmat`` may not be
imported outside ``attestgw.crypto``; so the 64 bytes are wrapped in the fixed P-256
SubjectPublicKeyInfo prefix (RFC 5480: id-ecPublicKey, secp256r1, uncompressed point) and loaded
through :func:`attestgw.crypto.keys.load_ec_public_key_pem`, which rejects points off the curve.
Cached per exact bytes: a pure function of them.

Not checked here: whether the key is certified — the QE report binding does that.
"""

from __future__ import annotations

import base64

from attestgw.crypto.keys import EcPublicKey, ec_key_curve_name, load_ec_public_key_pem
from attestgw.errors import ConfigError, VerificationError
from attestgw.verify.cache import BoundedLru

__all__ = ["attestation_public_key"]

# SEQUENCE { SEQUENCE { id-ecPublicKey, secp256r1 }, BIT STRING (0 unused bits) 0x04 ‖ x ‖ y }
_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d03010703420004")
_KEYS: BoundedLru[bytes, EcPublicKey] = BoundedLru(1024)


def attestation_public_key(raw: bytes) -> EcPublicKey:
    """The P-256 key for 64 raw bytes; ``VerificationError("tdx.attestation_key_invalid")`` otherwise."""
    raw = bytes(raw)
    cached = _KEYS.get(raw)
    if cached is not None:
        return cached
    if len(raw) != 64:
        raise VerificationError(
            "tdx.attestation_key_invalid", f"attestation key is {len(raw)} bytes, want 64"
        )
    body = base64.encodebytes(_SPKI_PREFIX + raw)
    pem = b"-----BEGIN PUBLIC KEY-----\n" + body + b"-----END PUBLIC KEY-----\n"
    try:
        key = load_ec_public_key_pem(pem)
        curve = ec_key_curve_name(key)
    except ConfigError:
        raise VerificationError(
            "tdx.attestation_key_invalid", f"attestation key {raw.hex()} is not a P-256 point"
        ) from None
    if curve != "P-256":  # pragma: no cover - the SPKI prefix names P-256
        raise VerificationError("tdx.attestation_key_invalid", f"attestation key is on {curve}")
    _KEYS.put(raw, key)
    return key
