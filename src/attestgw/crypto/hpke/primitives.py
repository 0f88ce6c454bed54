"""HPKE's KDFs and AEADs (RFC 9180 §7.2, §7.3) and the labeled KDF helpers (§4).

KDFs are HKDF (RFC 5869) over HMAC (RFC 2104) written out on :mod:`hashlib` (see
:meth:`Kdf.mac`); AEADs wrap ``cryptography``'s AES-GCM and ChaCha20-Poly1305. Implemented
identifiers:

- KDF 0x0001 HKDF-SHA256 (the default; the only one attestgw's OHTTP configs offer) and 0x0003
  HKDF-SHA512 (RFC 9180 vectors use it with X25519);
- AEAD 0x0001 AES-128-GCM (default), 0x0002 AES-256-GCM, 0x0003 ChaCha20-Poly1305.

Not implemented: KDF 0x0002 (no vector for the KEMs here), the export-only AEAD 0xFFFF, and the
single-stage SHAKE KDFs of draft-ietf-hpke-pq. Asking for them raises ``hpke.suite_unsupported``.

:meth:`Aead.open` raises ``DecryptionError("hpke.open_failed")`` and says nothing else: which tag
byte differed is never reported.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305

from attestgw.errors import DecryptionError, FormatError

if TYPE_CHECKING:
    from hashlib import _Hash

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
    "labeled_ikm",
    "labeled_info",
]

_VERSION_LABEL = b"HPKE-v1"

# HMAC's pads as translation tables: ``key.translate(_IPAD)`` is every key byte XOR 0x36.
_IPAD = bytes(byte ^ 0x36 for byte in range(256))
_OPAD = bytes(byte ^ 0x5C for byte in range(256))

# The constructors by name, because ``hashlib.new(name)`` costs a name lookup on every call.
_HASHES: dict[str, Callable[[bytes], _Hash]] = {
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
}


def i2osp(value: int, length: int) -> bytes:
    """``value`` as ``length`` big-endian bytes (RFC 8017 I2OSP); refuses values that do not fit."""
    return value.to_bytes(length, "big")


def labeled_ikm(suite_id: bytes, label: bytes, ikm: bytes) -> bytes:
    """The input of RFC 9180 §4 ``LabeledExtract``: ``"HPKE-v1" ‖ suite_id ‖ label ‖ ikm``."""
    return _VERSION_LABEL + suite_id + label + ikm


def labeled_info(suite_id: bytes, label: bytes, info: bytes, length: int) -> bytes:
    """The info of RFC 9180 §4 ``LabeledExpand``: ``I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info``.

    ``hpke.length_invalid`` unless ``0 <= length < 65536``.
    """
    if not 0 <= length < 1 << 16:
        raise FormatError("hpke.length_invalid", f"labeled output of {length} bytes, want < 65536")
    return _expand_prefix(suite_id, label, length) + info


@functools.lru_cache(maxsize=256)
def _expand_prefix(suite_id: bytes, label: bytes, length: int) -> bytes:
    # Public constants (a few labels and lengths per suite), rebuilt on every expansion otherwise.
    return i2osp(length, 2) + _VERSION_LABEL + suite_id + label


@dataclass(frozen=True, slots=True)
class Kdf:
    """An HKDF instance (RFC 5869) with HPKE's labeled wrappers."""

    kdf_id: int
    name: str
    hash_name: str
    nh: int
    # Derived from ``hash_name`` for the HMAC below; not part of the value.
    _new: Callable[[bytes], _Hash] = field(init=False, repr=False, compare=False)
    _block_size: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        new = _HASHES.get(self.hash_name) or functools.partial(hashlib.new, self.hash_name)
        object.__setattr__(self, "_new", new)
        object.__setattr__(self, "_block_size", new(b"").block_size)

    def mac(self, key: bytes, message: bytes) -> bytes:
        """HMAC(key, message) with this KDF's hash (RFC 2104).

        Written out on :mod:`hashlib` because :func:`hmac.digest` costs about 1.6 times as much for
        HPKE's short messages. The key is padded with ``bytes.translate``, as the standard library's
        own pure-Python HMAC does; nothing here compares MACs, so no comparison timing is at stake.
        """
        new, block_size = self._new, self._block_size
        if len(key) > block_size:
            key = new(key).digest()
        key = key.ljust(block_size, b"\0")
        return new(key.translate(_OPAD) + new(key.translate(_IPAD) + message).digest()).digest()

    def extract(self, salt: bytes, ikm: bytes) -> bytes:
        """HKDF-Extract; an empty salt means ``Nh`` zero bytes (RFC 5869 §2.2)."""
        # Nh zero bytes and the empty key pad to the same HMAC block: ``mac`` needs no special case.
        return self.mac(salt, ikm)

    def expand(self, prk: bytes, info: bytes, length: int) -> bytes:
        """HKDF-Expand to ``length`` bytes (at most 255·Nh, else ``hpke.length_invalid``)."""
        if 0 < length <= self.nh:
            # One block, T(1) = HMAC(PRK, info ‖ 0x01): every key, nonce and secret of the suites here.
            return self.mac(prk, info + b"\x01")[:length]
        if not 0 <= length <= 255 * self.nh:
            raise FormatError(
                "hpke.length_invalid", f"HKDF output of {length} bytes, want 0..{255 * self.nh}"
            )
        blocks: list[bytes] = []
        block = b""
        for counter in range(1, -(-length // self.nh) + 1):
            block = self.mac(prk, block + info + bytes((counter,)))
            blocks.append(block)
        return b"".join(blocks)[:length]

    def labeled_extract(self, suite_id: bytes, salt: bytes, label: bytes, ikm: bytes) -> bytes:
        """RFC 9180 §4: ``Extract(salt, "HPKE-v1" ‖ suite_id ‖ label ‖ ikm)``."""
        return self.extract(salt, labeled_ikm(suite_id, label, ikm))

    def labeled_expand(self, suite_id: bytes, prk: bytes, label: bytes, info: bytes, length: int) -> bytes:
        """RFC 9180 §4: ``Expand(prk, I2OSP(L, 2) ‖ "HPKE-v1" ‖ suite_id ‖ label ‖ info, L)``."""
        return self.expand(prk, labeled_info(suite_id, label, info, length), length)


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
