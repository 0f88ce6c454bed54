"""OHTTP key configurations (RFC 9458 §3) and the ``application/ohttp-keys`` media type (§3.2).

One Key Config, all integers big-endian::

    key_id (1) ‖ kem_id (2) ‖ public key (Npk) ‖ algorithms length (2, 4..65532, multiple of 4)
    ‖ { kdf_id (2) ‖ aead_id (2) } ...

``application/ohttp-keys`` is a concatenation of Key Configs, each prefixed by its 2-byte length.
attestgw only accepts that form (the RFC one); the unprefixed form of early drafts is refused.

Decoding is strict: exact lengths, a valid public key for the KEM (``hpke.key_invalid``), at least
one algorithm pair, no trailing bytes. Any encoding error rejects the whole collection, as
RFC 9458 §3.2 requires (partial recovery could segregate clients). One exception, because the
length prefix delimits it unambiguously: a config whose KEM attestgw does not implement is skipped
by :func:`decode_key_configs` (it is not an encoding error); a collection with no usable config is
refused. Algorithm pairs attestgw does not implement are kept (they are just numbers) and ignored
when a suite is chosen.

Not checked here: whether the configuration is the attested one. That is the binding's job
(:mod:`attestgw.evidence.binding`): the client compares the SHA-256 of the exact
``application/ohttp-keys`` bytes with the digest bound into the attestation report.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable
from dataclasses import dataclass

from attestgw.crypto.hpke import AEADS, KDFS, KEMS, PublicKey, Suite, kem_by_id
from attestgw.errors import FormatError

__all__ = [
    "KeyConfig",
    "SymmetricAlgorithm",
    "decode_key_configs",
    "encode_key_configs",
]

_INVALID = "ohttp.key_config_invalid"


@dataclass(frozen=True, slots=True)
class SymmetricAlgorithm:
    """One HPKE (KDF, AEAD) pair a key configuration offers."""

    kdf_id: int
    aead_id: int


@dataclass(frozen=True, slots=True)
class KeyConfig:
    """One OHTTP key configuration: what a client needs to encrypt to a gateway key."""

    key_id: int
    public_key: PublicKey
    symmetric: tuple[SymmetricAlgorithm, ...]

    def __post_init__(self) -> None:
        if not 0 <= self.key_id <= 0xFF:
            raise FormatError(_INVALID, f"key id {self.key_id}, want 0-255")
        if not 1 <= len(self.symmetric) <= 65532 // 4:
            raise FormatError(_INVALID, f"{len(self.symmetric)} algorithm pairs, want 1-16383")
        for pair in self.symmetric:
            if not (0 <= pair.kdf_id <= 0xFFFF and 0 <= pair.aead_id <= 0xFFFF):
                raise FormatError(_INVALID, "algorithm identifiers must fit in 16 bits")

    @property
    def kem_id(self) -> int:
        return self.public_key.kem_id

    def encode(self) -> bytes:
        """The Key Config bytes (no length prefix)."""
        algorithms = b"".join(struct.pack(">HH", p.kdf_id, p.aead_id) for p in self.symmetric)
        return (
            struct.pack(">BH", self.key_id, self.kem_id)
            + self.public_key.raw
            + struct.pack(">H", len(algorithms))
            + algorithms
        )

    @classmethod
    def decode(cls, data: bytes) -> KeyConfig:
        """Exactly one Key Config (no length prefix); an unimplemented KEM is ``hpke.suite_unsupported``."""
        if len(data) < 3:
            raise FormatError(_INVALID, f"key config of {len(data)} bytes is too short")
        key_id, kem_id = struct.unpack_from(">BH", data, 0)
        kem = kem_by_id(kem_id)
        end_pk = 3 + kem.n_pk
        if len(data) < end_pk + 2:
            raise FormatError(_INVALID, f"key config of {len(data)} bytes is too short for {kem.name}")
        public_key = kem.public_key_from_bytes(bytes(data[3:end_pk]))
        (length,) = struct.unpack_from(">H", data, end_pk)
        if length < 4 or length % 4:
            raise FormatError(_INVALID, f"algorithms length {length}, want a non-zero multiple of 4")
        if len(data) != end_pk + 2 + length:
            raise FormatError(
                _INVALID, f"key config is {len(data)} bytes, its lengths say {end_pk + 2 + length}"
            )
        pairs = tuple(
            SymmetricAlgorithm(*struct.unpack_from(">HH", data, offset))
            for offset in range(end_pk + 2, end_pk + 2 + length, 4)
        )
        return cls(key_id, public_key, pairs)

    def offers(self, kdf_id: int, aead_id: int) -> bool:
        """Whether this configuration lists the (KDF, AEAD) pair."""
        return SymmetricAlgorithm(kdf_id, aead_id) in self.symmetric

    def suite(self, kdf_id: int, aead_id: int) -> Suite:
        """The HPKE suite for a pair this config offers (``hpke.suite_unsupported`` otherwise)."""
        if not self.offers(kdf_id, aead_id):
            raise FormatError(
                "hpke.suite_unsupported",
                f"key id {self.key_id} does not offer KDF 0x{kdf_id:04x} with AEAD 0x{aead_id:04x}",
            )
        return Suite.from_ids(self.kem_id, kdf_id, aead_id)

    def preferred_suite(self) -> Suite:
        """The first offered pair that attestgw implements (the server's order is its preference)."""
        for pair in self.symmetric:
            if pair.kdf_id in KDFS and pair.aead_id in AEADS:
                return Suite.from_ids(self.kem_id, pair.kdf_id, pair.aead_id)
        raise FormatError(
            "hpke.suite_unsupported", f"key id {self.key_id} offers no implemented KDF/AEAD pair"
        )


def encode_key_configs(configs: Iterable[KeyConfig]) -> bytes:
    """``application/ohttp-keys``: each config prefixed by its 2-byte length."""
    out = []
    for config in configs:
        encoded = config.encode()
        out.append(struct.pack(">H", len(encoded)) + encoded)
    if not out:
        raise FormatError(_INVALID, "an application/ohttp-keys body needs at least one config")
    return b"".join(out)


def decode_key_configs(data: bytes) -> tuple[KeyConfig, ...]:
    """Decode ``application/ohttp-keys``; see the module docstring for what is refused or skipped."""
    configs: list[KeyConfig] = []
    offset = 0
    while offset < len(data):
        if len(data) - offset < 2:
            raise FormatError(_INVALID, f"dangling byte at offset {offset}")
        (length,) = struct.unpack_from(">H", data, offset)
        body = data[offset + 2 : offset + 2 + length]
        if len(body) != length:
            raise FormatError(_INVALID, f"config at offset {offset} claims {length} bytes, {len(body)} left")
        offset += 2 + length
        if length >= 3 and struct.unpack_from(">H", body, 1)[0] not in KEMS:
            continue  # delimited by its prefix; a KEM we do not implement is not an encoding error
        configs.append(KeyConfig.decode(body))
    if not configs:
        raise FormatError(_INVALID, "no key configuration with a KEM attestgw implements")
    return tuple(configs)
