"""DHKEM(X25519, HKDF-SHA256), KEM id 0x0020 (RFC 9180 §4.1, §7.1).

- ``enc`` and public keys are the 32 raw X25519 bytes; private keys are the 32 raw scalar bytes.
- DeriveKeyPair (§7.1.3): ``sk = LabeledExpand(LabeledExtract("", "dkp_prk", ikm), "sk", "", 32)``.
- Encap/Decap (§4.1): ``shared_secret = LabeledExpand(LabeledExtract("", "eae_prk", dh),
  "shared_secret", enc ‖ pkRm, 32)`` with the KEM suite id ``"KEM" ‖ 0x0020``.
- An all-zero DH result (a low-order peer point, §7.1.4) is refused: ``cryptography`` raises on it
  and this module reports ``hpke.decap_failed`` (recipient) or ``hpke.key_invalid`` (sender).

Not checked: nothing else is required for X25519 public keys; any 32 bytes are a valid encoding.
"""

from __future__ import annotations

import functools
from typing import cast

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from attestgw.crypto.hpke.kem import Kem, PrivateKey, PublicKey
from attestgw.crypto.hpke.primitives import KDF_HKDF_SHA256, kdf_by_id, labeled_ikm, labeled_info
from attestgw.errors import DecryptionError, FormatError

__all__ = ["KEM_X25519_HKDF_SHA256", "DhkemX25519"]

KEM_X25519_HKDF_SHA256 = 0x0020

_KDF = kdf_by_id(KDF_HKDF_SHA256)
_SUITE_ID = b"KEM" + KEM_X25519_HKDF_SHA256.to_bytes(2, "big")
_N_SECRET = 32
# The constant parts of ExtractAndExpand (§4.1), labeled once: every encap and decap uses them.
_EAE_PRK_IKM = labeled_ikm(_SUITE_ID, b"eae_prk", b"")  # ‖ dh
_SHARED_SECRET_INFO = labeled_info(_SUITE_ID, b"shared_secret", b"", _N_SECRET)  # ‖ enc ‖ pkRm


@functools.lru_cache(maxsize=64)
def _public_key_object(raw: bytes) -> X25519PublicKey:
    """The ``cryptography`` object for a recipient public key, cached: a client encrypts to the same
    few gateway keys over and over, and each parse costs a few microseconds. Public and immutable."""
    return X25519PublicKey.from_public_bytes(raw)


# Concrete classes already found to be X25519PrivateKey: isinstance() against that ABC runs
# ABCMeta's Python-level hooks on every call, a set lookup does not (registrations are permanent).
_PRIVATE_KEY_CLASSES: set[type] = set()


class DhkemX25519(Kem):
    """DHKEM(X25519, HKDF-SHA256)."""

    kem_id = KEM_X25519_HKDF_SHA256
    name = "DHKEM(X25519, HKDF-SHA256)"
    n_secret = _N_SECRET
    n_enc = 32
    n_pk = 32
    n_sk = 32

    def _wrap(self, secret: X25519PrivateKey) -> PrivateKey:
        public = PublicKey(self.kem_id, secret.public_key().public_bytes_raw())
        return PrivateKey(self.kem_id, public, secret)

    def _secret(self, private_key: PrivateKey) -> X25519PrivateKey:
        secret = private_key.secret_for(self)
        if type(secret) not in _PRIVATE_KEY_CLASSES:
            if not isinstance(secret, X25519PrivateKey):
                raise FormatError("hpke.key_invalid", "private key object is not an X25519 key")
            _PRIVATE_KEY_CLASSES.add(type(secret))
        return cast(X25519PrivateKey, secret)

    def generate_key_pair(self) -> PrivateKey:
        return self._wrap(X25519PrivateKey.generate())

    def derive_key_pair(self, ikm: bytes) -> PrivateKey:
        prk = _KDF.labeled_extract(_SUITE_ID, b"", b"dkp_prk", ikm)
        return self.private_key_from_bytes(_KDF.labeled_expand(_SUITE_ID, prk, b"sk", b"", self.n_sk))

    def private_key_from_bytes(self, data: bytes) -> PrivateKey:
        if len(data) != self.n_sk:
            raise FormatError("hpke.key_invalid", f"X25519 private key of {len(data)} bytes, want 32")
        return self._wrap(X25519PrivateKey.from_private_bytes(data))

    def public_key_from_bytes(self, data: bytes) -> PublicKey:
        if len(data) != self.n_pk:
            raise FormatError("hpke.key_invalid", f"X25519 public key of {len(data)} bytes, want 32")
        return PublicKey(self.kem_id, bytes(data))

    def _shared_secret(self, dh: bytes, enc: bytes, pk_r: bytes) -> bytes:
        # LabeledExpand(LabeledExtract("", "eae_prk", dh), "shared_secret", enc ‖ pkRm, Nsecret)
        prk = _KDF.extract(b"", _EAE_PRK_IKM + dh)
        return _KDF.expand(prk, _SHARED_SECRET_INFO + enc + pk_r, _N_SECRET)

    def encap(self, public_key: PublicKey, *, _test_randomness: bytes | None = None) -> tuple[bytes, bytes]:
        self._check_public(public_key)
        if _test_randomness is None:
            ephemeral = X25519PrivateKey.generate()
        else:
            # Tests inject the ephemeral private key bytes (skE) to reproduce RFC vectors.
            if len(_test_randomness) != self.n_sk:
                raise FormatError("hpke.length_invalid", "injected X25519 ephemeral key must be 32 bytes")
            ephemeral = X25519PrivateKey.from_private_bytes(_test_randomness)
        try:
            dh = ephemeral.exchange(_public_key_object(public_key.raw))
        except ValueError:
            raise FormatError("hpke.key_invalid", "recipient X25519 key is a low-order point") from None
        enc = ephemeral.public_key().public_bytes_raw()
        return self._shared_secret(dh, enc, public_key.raw), enc

    def decap(self, enc: bytes, private_key: PrivateKey) -> bytes:
        secret = self._secret(private_key)
        if len(enc) != self.n_enc:
            raise DecryptionError("hpke.decap_failed", f"encapsulated key of {len(enc)} bytes, want 32")
        try:
            dh = secret.exchange(X25519PublicKey.from_public_bytes(enc))
        except ValueError:
            raise DecryptionError("hpke.decap_failed", "encapsulated key is a low-order point") from None
        return self._shared_secret(dh, bytes(enc), private_key.public_key.raw)
