"""HPKE's KDFs and AEADs (RFC 9180 §7.2, §7.3) and the labeled KDF helpers (§4).

KDFs are HKDF (RFC 5869) built on :func:`hmac.digest`; AEADs wrap ``cryptography``'s AES-GCM and
ChaCha20-Poly1305. Implemented identifiers:

- KDF 0x0001 HKDF-SHA256 (the default; the only one attestgw's OHTTP configs offer) and 0x0003
  HKDF-SHA512 (RFC 9180 vectors use it with X25519);
- AEAD 0x0001 AES-128-GCM (default), 0x0002 AES-256-GCM, 0x0003 ChaCha20-Poly1305.

Not implemented: KDF 0x0002 (no vector for the KEMs here), the export-only AEAD 0xFFFF, and the
single-stage SHAKE KDFs of draft-ietf-hpke-pq. Asking for them raises ``hpke.suite_unsupported``.

:meth:`Aead.open` raises ``DecryptionError("hpke.open_failed")`` and says nothing else: which tag
byte differed is never reported.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from attestgw.errors import DecryptionError, FormatError

__all__ = [
    "AEADS",
    "AEAD_AES_128_GCM",
    "AEAD_AES_256_GCM",
    "AEAD_CHACHA20_POLY1305",
    "KDFS",
    "KDF_HKDF_SHA256",
    "KDF_HKDF_SHA512",
    "Aead",
    "AeadCipher",
    "Kdf",
    "aead_by_id",
    "i2osp",
    "kdf_by_id",
]

_VERSION_LABEL = b"HPKE-v1"


def i2osp(value: int, length: int) -> bytes:
    """``value`` as ``length`` big-endian bytes (RFC 8017 I2OSP); refuses values that do not fit."""
    return value.to_bytes(length, "big")


@dataclass(frozen=True, slots=True)
class Kdf:
    """An HKDF instance (RFC 5869) with HPKE's labeled wrappers."""

    kdf_id: int
    name: str
    hash_name: str
    nh: int

    def extract(self, salt: bytes, ikm: bytes) -> bytes:
        """HKDF-Extract; an empty salt means ``Nh`` zero bytes (RFC 5869 §2.2)."""
        return hmac.digest(salt or bytes(self.nh), ikm, self.hash_name)

    def expand(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand to ``length`` bytes (at most 255·Nh, else ``hpke.length_invalid``)."""
        if not 0 <= length <= 255 * self.nh:
            raise FormatError(
                "hpke.length_invalid", f"HKDF output of {length} bytes, want 0..{255 * self.nh}"
            )
        blocks: list[bytes] = []
        block = b""
        for counter in range(1, -(-length // self.nh) + 1):
            block = hmac.digest(prk, block + info + bytes((counter,)), self.hash_name)
            blocks.append(block)
        return b"".join(blocks)[:length]

    def labeled_extract(self, suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        """RFC 9180 §4: ``Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm)``."""
        return self.extract(salt, _VERSION_LABEL + suite_id + label + ikm)

    def labeled_expand(self, suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
        """RFC 9180 §4: ``Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L)``."""
        if not 0 <= length < 1 << 16:
            raise FormatError("hpke.length_invalid", f"labeled output of {length} bytes, want < 65536")
        return self.expand(prk, i2osp(length, 2) + _VERSION_LABEL + suite_id + label + info, length)


class AeadCipher:
    """An AEAD bound to one key. Holds the key: never logged, no ``repr`` of it."""

    __slots__ = ("_impl", "aead")

    def __init__(self, aead: Aead, key: bytes) -> None:
        if len(key) != aead.nk:
            raise FormatError("hpke.length_invalid", f"{aead.name} key of {len(key)} bytes, want {aead.nk}")
        self.aead = aead
        self._impl: AESGCM | ChaCha20Poly1305 = (
            ChaCha20Poly1305(key) if aead.aead_id == AEAD_CHACHA20_POLY1305 else AESGCM(key)
        )

    def __repr__(self) -> str:
        return f"AeadCipher({self.aead.name})"

    def seal(self, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
        """Ciphertext ‖ tag."""
        return self._impl.encrypt(nonce, plaintext, aad)

    def open(self, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
        """Plaintext, or ``DecryptionError("hpke.open_failed")`` when the tag does not verify."""
        try:
            return self._impl.decrypt(nonce, ciphertext, aad)
        except InvalidTag:
            raise DecryptionError("hpke.open_failed", "ciphertext did not authenticate") from None


@dataclass(frozen=True, slots=True)
class Aead:
    """An HPKE AEAD identifier with its sizes (RFC 9180 Table 5)."""

    aead_id: int
    name: str
    nk: int
    nn: int
    nt: int

    def cipher(self, key: bytes) -> AeadCipher:
        """This AEAD keyed with ``key`` (``Nk`` bytes)."""
        return AeadCipher(self, key)

    def seal(self, key: bytes, nonce: bytes, aad: bytes, plaintext: bytes) -> bytes:
        """One-off seal with a raw key (for OHTTP responses, which derive their own key)."""
        return AeadCipher(self, key).seal(nonce, aad, plaintext)

    def open(self, key: bytes, nonce: bytes, aad: bytes, ciphertext: bytes) -> bytes:
        """One-off open with a raw key; ``hpke.open_failed`` when the tag does not verify."""
        return AeadCipher(self, key).open(nonce, aad, ciphertext)


KDF_HKDF_SHA256 = 0x0001
KDF_HKDF_SHA512 = 0x0003
AEAD_AES_128_GCM = 0x0001
AEAD_AES_256_GCM = 0x0002
AEAD_CHACHA20_POLY1305 = 0x0003

#: Implemented KDFs by identifier.
KDFS: dict[int, Kdf] = {
    KDF_HKDF_SHA256: Kdf(KDF_HKDF_SHA256, "HKDF-SHA256", "sha256", 32),
    KDF_HKDF_SHA512: Kdf(KDF_HKDF_SHA512, "HKDF-SHA512", "sha512", 64),
}

#: Implemented AEADs by identifier.
AEADS: dict[int, Aead] = {
    AEAD_AES_128_GCM: Aead(AEAD_AES_128_GCM, "AES-128-GCM", 16, 12, 16),
    AEAD_AES_256_GCM: Aead(AEAD_AES_256_GCM, "AES-256-GCM", 32, 12, 16),
    AEAD_CHACHA20_POLY1305: Aead(AEAD_CHACHA20_POLY1305, "ChaCha20Poly1305", 32, 12, 16),
}


def kdf_by_id(kdf_id: int) -> Kdf:
    """The KDF with this identifier, or ``FormatError("hpke.suite_unsupported")``."""
    kdf = KDFS.get(kdf_id)
    if kdf is None:
        raise FormatError("hpke.suite_unsupported", f"KDF 0x{kdf_id:04x} is not implemented")
    return kdf


def aead_by_id(aead_id: int) -> Aead:
    """The AEAD with this identifier, or ``FormatError("hpke.suite_unsupported")``."""
    aead = AEADS.get(aead_id)
    if aead is None:
        raise FormatError("hpke.suite_unsupported", f"AEAD 0x{aead_id:04x} is not implemented")
    return aead
