"""HPKE base mode (RFC 9180 §5.1, mode_base = 0x00): suites, key schedule, contexts, single-shot API.

Key schedule (§5.1), with ``suite_id = "HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2)``:

1. ``psk_id_hash = LabeledExtract("", "psk_id_hash", "")``;
   ``info_hash = LabeledExtract("", "info_hash", info)``;
2. ``ctx = 0x00 ‖ psk_id_hash ‖ info_hash``; ``secret = LabeledExtract(shared_secret, "secret", "")``;
3. ``key = LabeledExpand(secret, "key", ctx, Nk)``;
   ``base_nonce = LabeledExpand(secret, "base_nonce", ctx, Nn)``;
   ``exporter_secret = LabeledExpand(secret, "exp", ctx, Nh)``.

Contexts (§5.2, §5.3): message ``seq`` uses nonce ``base_nonce XOR I2OSP(seq, Nn)``; a failed open
does not advance ``seq``; at ``2^(8·Nn) - 1`` messages the context refuses (``hpke.message_limit``).
``export(ctx, L) = LabeledExpand(exporter_secret, "sec", ctx, L)``.

Only base mode is implemented (OHTTP uses nothing else): no PSK, Auth or AuthPSK modes.
Contexts hold secrets; their ``repr`` names the suite only.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from attestgw.crypto.hpke.dhkem import KEM_X25519_HKDF_SHA256, DhkemX25519
from attestgw.crypto.hpke.kem import Kem, PrivateKey, PublicKey
from attestgw.crypto.hpke.primitives import (
    AEAD_AES_128_GCM,
    KDF_HKDF_SHA256,
    Aead,
    AeadCipher,
    Kdf,
    aead_by_id,
    i2osp,
    kdf_by_id,
    labeled_ikm,
    labeled_info,
)
from attestgw.crypto.hpke.xwing import KEM_XWING, XWing
from attestgw.errors import DecryptionError, FormatError

__all__ = [
    "DEFAULT_SUITE",
    "KEMS",
    "RecipientContext",
    "SenderContext",
    "Suite",
    "kem_by_id",
    "open_base",
    "seal_base",
    "setup_base_recipient",
    "setup_base_sender",
]

_MODE_BASE = 0x00

#: Implemented KEMs by identifier.
KEMS: dict[int, Kem] = {KEM_X25519_HKDF_SHA256: DhkemX25519(), KEM_XWING: XWing()}


def kem_by_id(kem_id: int) -> Kem:
    """The KEM with this identifier, or ``FormatError("hpke.suite_unsupported")``."""
    kem = KEMS.get(kem_id)
    if kem is None:
        raise FormatError("hpke.suite_unsupported", f"KEM 0x{kem_id:04x} is not implemented")
    return kem


@dataclass(frozen=True, slots=True)
class Suite:
    """An HPKE ciphersuite: one KEM, one KDF, one AEAD."""

    kem: Kem
    kdf: Kdf
    aead: Aead
    suite_id: bytes = field(init=False, repr=False, compare=False)
    # Key-schedule inputs already derived from public ``info`` strings, by info (see _schedule_for).
    _schedules: dict[bytes, _Schedule] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # ``"HPKE" ‖ I2OSP(kem_id, 2) ‖ I2OSP(kdf_id, 2) ‖ I2OSP(aead_id, 2)`` (RFC 9180 §5.1)
        ids = i2osp(self.kem.kem_id, 2) + i2osp(self.kdf.kdf_id, 2) + i2osp(self.aead.aead_id, 2)
        object.__setattr__(self, "suite_id", b"HPKE" + ids)
        object.__setattr__(self, "_schedules", {})

    @classmethod
    def from_ids(cls, kem_id: int, kdf_id: int, aead_id: int) -> Suite:
        """The suite for these identifiers; ``hpke.suite_unsupported`` if any is not implemented."""
        return _suite_for(kem_id, kdf_id, aead_id)

    def __repr__(self) -> str:
        return f"Suite({self.kem.name}, {self.kdf.name}, {self.aead.name})"


@functools.lru_cache(maxsize=64)
def _suite_for(kem_id: int, kdf_id: int, aead_id: int) -> Suite:
    # Suites are immutable values; every request names one, so build each only once.
    return Suite(kem_by_id(kem_id), kdf_by_id(kdf_id), aead_by_id(aead_id))


#: DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / AES-128-GCM: the RFC 9458 interoperable default.
DEFAULT_SUITE = Suite.from_ids(KEM_X25519_HKDF_SHA256, KDF_HKDF_SHA256, AEAD_AES_128_GCM)


_CACHED_INFO_MAX = 256  # OHTTP info strings are ~40 bytes; larger ones are not cached (memory bound)
_CACHED_INFOS_PER_SUITE = 256  # a gateway sees a few request headers (key id × suite) over and over


class _Schedule:
    """The part of the key schedule (§5.1) that depends only on the suite and the public ``info``.

    Every input of the four KDF calls that follow the KEM, precomputed; never holds a secret.
    """

    __slots__ = ("exp_info", "key_info", "max_seq", "nonce_info", "secret_ikm")

    def __init__(self, suite: Suite, info: bytes) -> None:
        kdf, sid = suite.kdf, suite.suite_id
        psk_id_hash = kdf.labeled_extract(sid, b"", b"psk_id_hash", b"")
        info_hash = kdf.labeled_extract(sid, b"", b"info_hash", info)
        ks_context = bytes((_MODE_BASE,)) + psk_id_hash + info_hash
        # secret = LabeledExtract(shared_secret, "secret", psk = "")
        self.secret_ikm = labeled_ikm(sid, b"secret", b"")
        # The info of key, base_nonce and exporter_secret = LabeledExpand(secret, label, ks_context, L)
        self.key_info = labeled_info(sid, b"key", ks_context, suite.aead.nk)
        self.nonce_info = labeled_info(sid, b"base_nonce", ks_context, suite.aead.nn)
        self.exp_info = labeled_info(sid, b"exp", ks_context, kdf.nh)
        self.max_seq = (1 << (8 * suite.aead.nn)) - 1


def _schedule_for(suite: Suite, info: bytes) -> _Schedule:
    cache = suite._schedules
    try:
        return cache[info]
    except (KeyError, TypeError):  # not seen yet, or an unhashable buffer
        pass
    schedule = _Schedule(suite, info)
    if len(info) <= _CACHED_INFO_MAX:
        if len(cache) >= _CACHED_INFOS_PER_SUITE:
            cache.clear()  # bound memory; a gateway's working set refills it at once
        cache[bytes(info)] = schedule
    return schedule


class _Context:
    __slots__ = ("_base_nonce", "_cipher", "_exporter_secret", "_max_seq", "_seq", "suite")

    def __init__(self, suite: Suite, shared_secret: bytes, info: bytes) -> None:
        schedule = _schedule_for(suite, info)
        kdf, aead = suite.kdf, suite.aead
        secret = kdf.extract(shared_secret, schedule.secret_ikm)
        self.suite = suite
        self._cipher = AeadCipher(aead, kdf.expand(secret, schedule.key_info, aead.nk))
        self._base_nonce = kdf.expand(secret, schedule.nonce_info, aead.nn)
        self._exporter_secret = kdf.expand(secret, schedule.exp_info, kdf.nh)
        self._seq = 0
        self._max_seq = schedule.max_seq

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.suite!r}, seq={self._seq})"

    @property
    def seq(self) -> int:
        """Sequence number of the next message."""
        return self._seq

    def _nonce(self) -> bytes:
        seq = self._seq
        if seq == 0:
            return self._base_nonce  # base_nonce XOR 0: the only message of an OHTTP request
        if seq >= self._max_seq:
            raise DecryptionError("hpke.message_limit", "the context's sequence number is exhausted")
        base_nonce = self._base_nonce
        return (int.from_bytes(base_nonce, "big") ^ seq).to_bytes(len(base_nonce), "big")

    def export(self, exporter_context: bytes, length: int) -> bytes:
        """RFC 9180 §5.3 secret export: ``LabeledExpand(exporter_secret, "sec", ctx, L)``."""
        kdf = self.suite.kdf
        return kdf.labeled_expand(
            self.suite.suite_id, self._exporter_secret, b"sec", exporter_context, length
        )


class SenderContext(_Context):
    """The sender side of an HPKE context: ``seal`` in order, ``export`` any time."""

    __slots__ = ()

    def seal(self, plaintext: bytes, aad: bytes = b"") -> bytes:
        ciphertext = self._cipher.seal(self._nonce(), aad, plaintext)
        self._seq += 1
        return ciphertext


class RecipientContext(_Context):
    """The recipient side of an HPKE context: ``open`` in order, ``export`` any time."""

    __slots__ = ()

    def open(self, ciphertext: bytes, aad: bytes = b"") -> bytes:
        """Plaintext of the next message, or ``DecryptionError("hpke.open_failed")`` (seq unchanged)."""
        plaintext = self._cipher.open(self._nonce(), aad, ciphertext)
        self._seq += 1
        return plaintext


def _check_key(suite: Suite, kem_id: int) -> None:
    if kem_id != suite.kem.kem_id:
        raise FormatError("hpke.key_invalid", f"key is for KEM 0x{kem_id:04x}, suite uses {suite.kem.name}")


def setup_base_sender(
    suite: Suite, public_key: PublicKey, info: bytes, *, _test_randomness: bytes | None = None
) -> tuple[bytes, SenderContext]:
    """SetupBaseS (§5.1.1): ``(enc, context)`` for sending to ``public_key``.

    ``_test_randomness`` is the KEM's injected randomness (the X25519 ephemeral private key): tests
    only, to reproduce published vectors. Production callers never pass it.
    """
    _check_key(suite, public_key.kem_id)
    shared_secret, enc = suite.kem.encap(public_key, _test_randomness=_test_randomness)
    return enc, SenderContext(suite, shared_secret, info)


def setup_base_recipient(suite: Suite, enc: bytes, private_key: PrivateKey, info: bytes) -> RecipientContext:
    """SetupBaseR (§5.1.1); ``hpke.decap_failed`` when ``enc`` is rejected by the KEM."""
    _check_key(suite, private_key.kem_id)
    return RecipientContext(suite, suite.kem.decap(enc, private_key), info)


def seal_base(
    suite: Suite, public_key: PublicKey, info: bytes, aad: bytes, plaintext: bytes
) -> tuple[bytes, bytes]:
    """Single-shot SealBase (§6.1): ``(enc, ciphertext)``."""
    enc, context = setup_base_sender(suite, public_key, info)
    return enc, context.seal(plaintext, aad)


def open_base(
    suite: Suite, enc: bytes, private_key: PrivateKey, info: bytes, aad: bytes, ciphertext: bytes
) -> bytes:
    """Single-shot OpenBase (§6.1); ``hpke.decap_failed`` or ``hpke.open_failed`` on failure."""
    return setup_base_recipient(suite, enc, private_key, info).open(ciphertext, aad)
