"""The HPKE KEM interface (RFC 9180 §4) and the key types every KEM shares.

A KEM turns a recipient public key into ``(shared_secret, enc)`` and back. Implementations:
:mod:`~attestgw.crypto.hpke.dhkem` (DHKEM(X25519, HKDF-SHA256), 0x0020) and
:mod:`~attestgw.crypto.hpke.xwing` (X-Wing, ML-KEM-768 + X25519, 0x647A).

Keys: :class:`PublicKey` is a plain value (its serialized bytes). :class:`PrivateKey` holds the
secret and is deliberately not a dataclass: its ``repr`` shows only the KEM and a fingerprint of the
public key, it has no equality, and there is no method that returns the private bytes. Private keys
are generated where they are used (inside the TEE) and never leave it.
"""

from __future__ import annotations

import abc
import hashlib
from dataclasses import dataclass

from attestgw.errors import FormatError

__all__ = ["Kem", "PrivateKey", "PublicKey"]


@dataclass(frozen=True, slots=True)
class PublicKey:
    """A KEM public key: the KEM identifier and the serialized key (``Npk`` bytes)."""

    kem_id: int
    raw: bytes

    @property
    def fingerprint(self) -> str:
        """First 8 bytes of SHA-256 of the serialized key, in hex: enough to tell keys apart in logs."""
        return hashlib.sha256(self.raw).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"PublicKey(kem=0x{self.kem_id:04x}, fingerprint={self.fingerprint})"


class PrivateKey:
    """A KEM private key. ``repr`` shows the public fingerprint only; the secret never prints."""

    __slots__ = ("_secret", "kem_id", "public_key")

    def __init__(self, kem_id: int, public_key: PublicKey, secret: object) -> None:
        self.kem_id = kem_id
        self.public_key = public_key
        self._secret = secret

    def secret_for(self, kem: Kem) -> object:
        """The KEM-specific secret object; only the KEM that made the key should call this."""
        if kem.kem_id != self.kem_id:
            raise FormatError("hpke.key_invalid", f"key is for KEM 0x{self.kem_id:04x}, not {kem.name}")
        return self._secret

    def __repr__(self) -> str:
        return f"PrivateKey(kem=0x{self.kem_id:04x}, public={self.public_key.fingerprint})"


class Kem(abc.ABC):
    """One HPKE KEM. Sizes follow RFC 9180 Table 2 names."""

    kem_id: int
    name: str
    n_secret: int
    n_enc: int
    n_pk: int
    n_sk: int

    @property
    def suite_id(self) -> bytes:
        """``"KEM" ‖ I2OSP(kem_id, 2)``, the suite id used inside the KEM (RFC 9180 §4.1)."""
        return b"KEM" + self.kem_id.to_bytes(2, "big")

    @abc.abstractmethod
    def generate_key_pair(self) -> PrivateKey:
        """A fresh random key pair."""

    @abc.abstractmethod
    def derive_key_pair(self, ikm: bytes) -> PrivateKey:
        """RFC 9180 §7.1.3 DeriveKeyPair: a key pair determined by ``ikm`` (for vectors and tests)."""

    @abc.abstractmethod
    def private_key_from_bytes(self, data: bytes) -> PrivateKey:
        """DeserializePrivateKey: ``Nsk`` bytes, or ``hpke.key_invalid``."""

    @abc.abstractmethod
    def public_key_from_bytes(self, data: bytes) -> PublicKey:
        """DeserializePublicKey with validation: ``Npk`` bytes of a valid key, or ``hpke.key_invalid``."""

    @abc.abstractmethod
    def encap(self, public_key: PublicKey, *, _test_randomness: bytes | None = None) -> tuple[bytes, bytes]:
        """``(shared_secret, enc)`` for ``public_key``.

        ``_test_randomness`` replaces the KEM's randomness so that vectors can be reproduced; it is
        for tests only and KEMs that cannot be derandomized refuse it.
        """

    @abc.abstractmethod
    def decap(self, enc: bytes, private_key: PrivateKey) -> bytes:
        """The shared secret for ``enc``, or ``DecryptionError("hpke.decap_failed")``."""

    def _check_public(self, public_key: PublicKey) -> None:
        if public_key.kem_id != self.kem_id or len(public_key.raw) != self.n_pk:
            raise FormatError(
                "hpke.key_invalid",
                f"public key for KEM 0x{public_key.kem_id:04x} ({len(public_key.raw)} bytes), "
                f"want {self.name} ({self.n_pk} bytes)",
            )
