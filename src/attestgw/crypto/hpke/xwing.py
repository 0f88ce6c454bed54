"""X-Wing (ML-KEM-768 + X25519), HPKE KEM id 0x647A: the post-quantum option.

X-Wing is draft-connolly-cfrg-xwing-kem; its HPKE binding (the id, DeriveKeyPair) is
draft-ietf-hpke-pq ("MLKEM768-X25519"). Sizes: private key = 32-byte seed, public key 1216 bytes
(ML-KEM-768 ek 1184 ‖ X25519 32), ``enc`` 1120 bytes (ML-KEM ct 1088 ‖ X25519 32), secret 32 bytes.

1. Key expansion: ``e = SHAKE256(seed, 96)``; ML-KEM-768 key from the 64-byte seed ``d ‖ z = e[0:64]``
   (FIPS 203 KeyGen_internal, via ``cryptography``'s ``from_seed_bytes``); X25519 secret ``e[64:96]``.
2. DeriveKeyPair(ikm) (hpke-pq §4): ``seed = SHAKE256(ikm ‖ "HPKE-v1" ‖ "KEM" ‖ 0x647a ‖
   I2OSP(13, 2) ‖ "DeriveKeyPair" ‖ I2OSP(32, 2), 32)`` (SHAKE256.LabeledDerive with empty context).
3. Encap: ``(ss_M, ct_M) = ML-KEM.Encaps(pk_M)``; ephemeral X25519 ``ek_X``; ``ct_X = ek_X·G``;
   ``ss_X = ek_X·pk_X``. Decap recomputes ``ss_M`` and ``ss_X = sk_X·ct_X``.
4. Combiner: ``ss = SHA3-256(ss_M ‖ ss_X ‖ ct_X ‖ pk_X ‖ "\\.//^\\")``.

Limits of this implementation: ``cryptography`` exposes no derandomized ML-KEM encapsulation, so
``encap`` cannot take injected randomness (vectors are checked on the recipient side, and the
X25519 half of the sender side). ML-KEM decapsulation uses implicit rejection, so a tampered
``ct_M`` yields a wrong secret and the AEAD, not the KEM, refuses the message. An all-zero X25519
result is refused (``cryptography`` raises on it), which X-Wing itself would not require.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.mlkem import MLKEM768PrivateKey, MLKEM768PublicKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from attestgw.crypto.hpke.kem import Kem, PrivateKey, PublicKey
from attestgw.crypto.hpke.primitives import i2osp
from attestgw.errors import DecryptionError, FormatError, UsageError

__all__ = ["KEM_XWING", "XWing", "mlkem768_decapsulate", "mlkem768_public_from_seed", "xwing_available"]

KEM_XWING = 0x647A

_LABEL = b"\\.//^\\"
_MLKEM_EK = 1184
_MLKEM_CT = 1088


@dataclass(frozen=True, slots=True, repr=False)
class _Secret:
    mlkem: MLKEM768PrivateKey
    x25519: X25519PrivateKey
    pk_x: bytes


def xwing_available() -> bool:
    """Whether the ``cryptography`` backend in use implements ML-KEM-768."""
    try:
        MLKEM768PrivateKey.generate()
    except UnsupportedAlgorithm:
        return False
    return True


def _mlkem_from_seed(seed: bytes) -> MLKEM768PrivateKey:
    if len(seed) != 64:
        raise FormatError("hpke.key_invalid", f"ML-KEM-768 seed of {len(seed)} bytes, want 64")
    try:
        return MLKEM768PrivateKey.from_seed_bytes(seed)
    except UnsupportedAlgorithm:
        raise FormatError("hpke.suite_unsupported", "this cryptography backend has no ML-KEM") from None


def mlkem768_public_from_seed(seed: bytes) -> bytes:
    """ML-KEM-768 encapsulation key for the 64-byte FIPS 203 seed ``d ‖ z`` (checked with ACVP keyGen)."""
    return _mlkem_from_seed(seed).public_key().public_bytes_raw()


def mlkem768_decapsulate(seed: bytes, ciphertext: bytes) -> bytes:
    """ML-KEM-768 Decaps with the key of ``seed`` (checked with Wycheproof).

    A seed that is not 64 bytes is ``hpke.key_invalid``; a ciphertext that is not 1088 bytes is
    ``hpke.decap_failed``. Any 1088-byte ciphertext decapsulates (implicit rejection).
    """
    key = _mlkem_from_seed(seed)
    try:
        return key.decapsulate(ciphertext)
    except ValueError:
        raise DecryptionError("hpke.decap_failed", "ML-KEM-768 ciphertext has the wrong length") from None


class XWing(Kem):
    """X-Wing hybrid KEM (ML-KEM-768 + X25519)."""

    kem_id = KEM_XWING
    name = "X-Wing (ML-KEM-768 + X25519)"
    n_secret = 32
    n_enc = _MLKEM_CT + 32
    n_pk = _MLKEM_EK + 32
    n_sk = 32

    def _secret(self, private_key: PrivateKey) -> _Secret:
        secret = private_key.secret_for(self)
        if not isinstance(secret, _Secret):
            raise FormatError("hpke.key_invalid", "private key object is not an X-Wing key")
        return secret

    def generate_key_pair(self) -> PrivateKey:
        return self.private_key_from_bytes(os.urandom(self.n_sk))

    def derive_key_pair(self, ikm: bytes) -> PrivateKey:
        label = b"DeriveKeyPair"
        labeled = ikm + b"HPKE-v1" + self.suite_id + i2osp(len(label), 2) + label + i2osp(self.n_sk, 2)
        return self.private_key_from_bytes(hashlib.shake_256(labeled).digest(self.n_sk))

    def private_key_from_bytes(self, data: bytes) -> PrivateKey:
        if len(data) != self.n_sk:
            raise FormatError("hpke.key_invalid", f"X-Wing private key of {len(data)} bytes, want 32")
        expanded = hashlib.shake_256(data).digest(96)
        mlkem = _mlkem_from_seed(expanded[:64])
        x25519 = X25519PrivateKey.from_private_bytes(expanded[64:])
        pk_x = x25519.public_key().public_bytes_raw()
        public = PublicKey(self.kem_id, mlkem.public_key().public_bytes_raw() + pk_x)
        return PrivateKey(self.kem_id, public, _Secret(mlkem, x25519, pk_x))

    def public_key_from_bytes(self, data: bytes) -> PublicKey:
        if len(data) != self.n_pk:
            raise FormatError("hpke.key_invalid", f"X-Wing public key of {len(data)} bytes, want {self.n_pk}")
        try:
            # Validates the ML-KEM encapsulation key (FIPS 203 §7.2 modulus check).
            MLKEM768PublicKey.from_public_bytes(data[:_MLKEM_EK])
        except ValueError:
            raise FormatError("hpke.key_invalid", "ML-KEM-768 part of the X-Wing key is invalid") from None
        except UnsupportedAlgorithm:
            raise FormatError("hpke.suite_unsupported", "this cryptography backend has no ML-KEM") from None
        return PublicKey(self.kem_id, bytes(data))

    def encap(self, public_key: PublicKey, *, _test_randomness: bytes | None = None) -> tuple[bytes, bytes]:
        self._check_public(public_key)
        if _test_randomness is not None:
            raise UsageError("usage.invalid", "X-Wing encapsulation cannot be derandomized here")
        pk_m, pk_x = public_key.raw[:_MLKEM_EK], public_key.raw[_MLKEM_EK:]
        try:
            ss_m, ct_m = MLKEM768PublicKey.from_public_bytes(pk_m).encapsulate()
        except ValueError:
            raise FormatError("hpke.key_invalid", "ML-KEM-768 part of the X-Wing key is invalid") from None
        ephemeral = X25519PrivateKey.generate()
        ct_x = ephemeral.public_key().public_bytes_raw()
        try:
            ss_x = ephemeral.exchange(X25519PublicKey.from_public_bytes(pk_x))
        except ValueError:
            raise FormatError(
                "hpke.key_invalid", "X25519 part of the X-Wing key is a low-order point"
            ) from None
        return _combine(ss_m, ss_x, ct_x, pk_x), ct_m + ct_x

    def decap(self, enc: bytes, private_key: PrivateKey) -> bytes:
        secret = self._secret(private_key)
        if len(enc) != self.n_enc:
            raise DecryptionError("hpke.decap_failed", f"X-Wing enc of {len(enc)} bytes, want {self.n_enc}")
        ct_m, ct_x = bytes(enc[:_MLKEM_CT]), bytes(enc[_MLKEM_CT:])
        try:
            ss_m = secret.mlkem.decapsulate(ct_m)
            ss_x = secret.x25519.exchange(X25519PublicKey.from_public_bytes(ct_x))
        except ValueError:
            raise DecryptionError("hpke.decap_failed", "X-Wing encapsulated key was rejected") from None
        return _combine(ss_m, ss_x, ct_x, secret.pk_x)


def _combine(ss_m: bytes, ss_x: bytes, ct_x: bytes, pk_x: bytes) -> bytes:
    return hashlib.sha3_256(ss_m + ss_x + ct_x + pk_x + _LABEL).digest()
