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

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey

from attestgw.crypto.hpke.kem import Kem, PrivateKey, PublicKey
from attestgw.crypto.hpke.primitives import KDF_HKDF_SHA256, kdf_by_id
from attestgw.errors import DecryptionError, FormatError

__all__ = ["KEM_X25519_HKDF_SHA256", "DhkemX25519"]

KEM_X25519_HKDF_SHA256 = 0x0020

_KDF = kdf_by_id(KDF_HKDF_SHA256)


class DhkemX25519(Kem):
    """DHKEM(X25519, HKDF-SHA256)."""

    kem_id = KEM_X25519_HKDF_SHA256
    name = "DHKEM(X25519, HKDF-SHA256)"
    n_secret = 32
    n_enc = 32
    n_pk = 32
    n_sk = 32

    def _wrap(self, secret: X25519PrivateKey) -> PrivateKey:
        public = PublicKey(self.kem_id, secret.public_key().public_bytes_raw())
        return PrivateKey(self.kem_id, public, secret)

    def _secret(self, private_key: PrivateKey) -> X25519PrivateKey:
        secret = private_key.secret_for(self)
        if not isinstance(secret, X25519PrivateKey):
            raise FormatError("hpke.key_invalid", "private key object is not an X25519 key")
        return secret

    def generate_key_pair(self) -> PrivateKey:
        return self._wrap(X25519PrivateKey.generate())

    def derive_key_pair(self, ikm: bytes) -> PrivateKey:
        prk = _KDF.labeled_extract(self.suite_id, b"", b"dkp_prk", ikm)
        return self.private_key_from_bytes(_KDF.labeled_expand(self.suite_id, prk, b"sk", b"", self.n_sk))

    def private_key_from_bytes(self, data: bytes) -> PrivateKey:
        if len(data) != self.n_sk:
            raise FormatError("hpke.key_invalid", f"X25519 private key of {len(data)} bytes, want 32")
        return self._wrap(X25519PrivateKey.from_private_bytes(data))

    def public_key_from_bytes(self, data: bytes) -> PublicKey:
        if len(data) != self.n_pk:
            raise FormatError("hpke.key_invalid", f"X25519 public key of {len(data)} bytes, want 32")
        return PublicKey(self.kem_id, bytes(data))

    def _shared_secret(self, dh: bytes, enc: bytes, pk_r: bytes) -> bytes:
        prk = _KDF.labeled_extract(self.suite_id, b"", b"eae_prk", dh)
        return _KDF.labeled_expand(self.suite_id, prk, b"shared_secret", enc + pk_r, self.n_secret)

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
            dh = ephemeral.exchange(X25519PublicKey.from_public_bytes(public_key.raw))
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
