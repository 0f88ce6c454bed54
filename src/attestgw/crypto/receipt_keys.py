"""Receipt signing keys: Ed25519 (the default) or ECDSA P-256 with SHA-256 (JOSE ``ES256``).

A worker generates one receipt key at start and publishes it as a SubjectPublicKeyInfo (DER) in its
evidence bundle; the binding covers SHA-256 of those exact bytes. The key's algorithm is therefore a
property of the attested SPKI: :func:`receipt_algorithm` reads it from there, and a verifier never
takes the algorithm from the receipt itself.

Signatures are 64 bytes either way: Ed25519's ``R‖S`` (RFC 8032), or ECDSA's ``r‖s`` big-endian,
32 bytes each (RFC 7518 §3.4). ECDSA signatures are randomized and malleable (``(r, n−s)`` verifies
too): identify a receipt by its signed fields, never by its signature bytes.

Why two: on the hardware measured here (``bench/channel.py``) a P-256 sign + verify costs about two
thirds of an Ed25519 one (the verify dominates, and it runs on every response at the client).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

from attestgw.crypto.p256 import verify_p256_sha256
from attestgw.crypto.signing import sign_p256_sha256_raw
from attestgw.errors import FormatError, UsageError

__all__ = [
    "ED25519",
    "ED25519_SPKI_PREFIX",
    "ES256",
    "RECEIPT_ALGORITHMS",
    "ReceiptKey",
    "receipt_algorithm",
    "receipt_verifier",
]

ED25519 = "Ed25519"
ES256 = "ES256"
RECEIPT_ALGORITHMS = (ED25519, ES256)

#: DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): SEQUENCE { SEQUENCE { OID 1.3.101.112 },
#: BIT STRING (32 bytes) }. The raw key follows.
ED25519_SPKI_PREFIX = bytes.fromhex("302a300506032b6570032100")
#: DER prefix of an uncompressed P-256 SubjectPublicKeyInfo (RFC 5480): id-ecPublicKey, secp256r1,
#: BIT STRING of 66 bytes starting 0x00 0x04; x‖y (64 bytes) follow.
_P256_SPKI_PREFIX = bytes.fromhex("3059301306072a8648ce3d020106082a8648ce3d030107034200")
_ES256 = ec.ECDSA(hashes.SHA256())


def _invalid(detail: str) -> FormatError:
    return FormatError("receipt.malformed", detail)


def receipt_algorithm(spki_der: bytes) -> str:
    """``"Ed25519"`` or ``"ES256"`` for a receipt key SPKI; ``receipt.malformed`` for anything else
    (another algorithm or curve, a compressed point, a point not on the curve, trailing bytes)."""
    if len(spki_der) == len(ED25519_SPKI_PREFIX) + 32 and spki_der.startswith(ED25519_SPKI_PREFIX):
        return ED25519
    if len(spki_der) == len(_P256_SPKI_PREFIX) + 65 and spki_der.startswith(_P256_SPKI_PREFIX):
        _p256_public(spki_der)  # the point must be on the curve
        return ES256
    raise _invalid("receipt key is neither an Ed25519 nor an uncompressed P-256 SubjectPublicKeyInfo")


def _p256_public(spki_der: bytes) -> ec.EllipticCurvePublicKey:
    try:
        key = serialization.load_der_public_key(spki_der)
    except (ValueError, TypeError):
        raise _invalid("receipt key is not a valid P-256 point") from None
    if not isinstance(key, ec.EllipticCurvePublicKey) or not isinstance(key.curve, ec.SECP256R1):
        raise _invalid("receipt key is not a P-256 key")  # pragma: no cover - the prefix names P-256
    return key


@functools.lru_cache(maxsize=64)
def receipt_verifier(spki_der: bytes) -> Callable[[bytes, bytes], bool]:
    """``verify(message, signature) -> bool`` for the receipt key ``spki_der`` (decoded once and
    cached: a client checks every receipt of a session against one key). Never raises for a bad
    signature; ``receipt.malformed`` when the key itself is unusable."""
    if receipt_algorithm(spki_der) == ED25519:
        ed_key = ed25519.Ed25519PublicKey.from_public_bytes(spki_der[len(ED25519_SPKI_PREFIX) :])

        def verify_ed25519(message: bytes, signature: bytes) -> bool:
            try:
                ed_key.verify(signature, message)
            except InvalidSignature:
                return False
            return True

        return verify_ed25519
    ec_key = _p256_public(spki_der)

    def verify_es256(message: bytes, signature: bytes) -> bool:
        return verify_p256_sha256(ec_key, signature, message)

    return verify_es256


class ReceiptKey:
    """A receipt private key, generated here and never exported. ``repr`` shows only the algorithm."""

    __slots__ = ("_sign", "algorithm", "spki_der")

    def __init__(self, algorithm: str = ED25519) -> None:
        if algorithm == ED25519:
            ed_key = ed25519.Ed25519PrivateKey.generate()
            public = ed_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            self.spki_der = ED25519_SPKI_PREFIX + public
            self._sign: Callable[[bytes], bytes] = ed_key.sign
        elif algorithm == ES256:
            ec_key = ec.generate_private_key(ec.SECP256R1())
            self.spki_der = ec_key.public_key().public_bytes(
                serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
            )

            def sign_es256(message: bytes) -> bytes:
                return sign_p256_sha256_raw(ec_key, message)

            self._sign = sign_es256
        else:
            raise UsageError(
                "usage.invalid", f"receipt key algorithm {algorithm!r}, want one of {RECEIPT_ALGORITHMS}"
            )
        self.algorithm = algorithm

    def __repr__(self) -> str:
        return f"<ReceiptKey {self.algorithm}>"

    def sign(self, message: bytes) -> bytes:
        """The 64-byte signature of ``message``."""
        return self._sign(message)
