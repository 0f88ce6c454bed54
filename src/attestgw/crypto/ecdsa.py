"""ECDSA P-384 / SHA-384 verification over raw ``(r, s)`` integers.

SEV-SNP reports store R and S as 72-byte little-endian fields (formats.md §2.1); the report
dataclass already turns them into integers (``report.signature.r`` / ``.s``). This module DER-encodes
``(r, s)`` for ``cryptography`` and answers yes or no. It does not hash anything twice: ``message``
is the exact signed bytes.

Not checked here: where the public key came from (the caller verifies the certificate chain first).
"""

from __future__ import annotations

from typing import TypeAlias

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils

__all__ = ["P384PublicKey", "verify_p384_sha384"]

#: The public-key type callers pass around; layers above ``crypto`` use this alias instead of
#: importing ``cryptography.hazmat`` themselves.
P384PublicKey: TypeAlias = ec.EllipticCurvePublicKey

_ECDSA_SHA384 = ec.ECDSA(hashes.SHA384())  # stateless; built once because this runs per report

# Order of the P-384 base point (SEC 2 v2, §2.5.1). r and s must lie in [1, n-1].
_P384_N = int(
    "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973",
    16,
)


def verify_p384_sha384(public_key: P384PublicKey, r: int, s: int, message: bytes) -> bool:
    """True iff ``(r, s)`` is a valid ECDSA P-384/SHA-384 signature of ``message`` by ``public_key``.

    Returns False (never raises) for a key on another curve, or ``r``/``s`` outside ``[1, n-1]``;
    the range check is explicit so the answer does not depend on the backend's handling of
    out-of-range integers.
    """
    if not isinstance(public_key, ec.EllipticCurvePublicKey) or public_key.curve.name != "secp384r1":
        return False
    if not (0 < r < _P384_N and 0 < s < _P384_N):
        return False
    try:
        public_key.verify(utils.encode_dss_signature(r, s), bytes(message), _ECDSA_SHA384)
    except InvalidSignature:
        return False
    return True
