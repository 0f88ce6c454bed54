"""SEV-SNP bitfields and TCB versions (AMD SEV-SNP Firmware ABI #56860, §2.2–2.3 of formats.md).

Pure value types: decoding a bitfield never fails except where the ABI marks bits must-be-zero,
and those checks live in :mod:`attestgw.evidence.snp.report`.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

__all__ = [
    "GuestPolicy",
    "PlatformInfo",
    "Product",
    "SignerInfo",
    "SigningKey",
    "TcbParts",
    "TcbVersion",
    "product_from_cpuid",
    "product_from_name",
]


class Product(enum.Enum):
    """AMD EPYC product line; selects the TCB layout, the ARK and the KDS path."""

    MILAN = "Milan"
    GENOA = "Genoa"
    TURIN = "Turin"

    @property
    def has_fmc(self) -> bool:
        """Turin and later carry an FMC SPL and use the second TCB_VERSION layout."""
        return self is Product.TURIN


def product_from_cpuid(family: int, model: int) -> Product | None:
    """Product line from the report's CPUID_FAM_ID / CPUID_MOD_ID (v3+), or ``None`` if unknown.

    Family 0x19: models 0x00–0x0F are Milan, 0x10–0x1F and 0xA0–0xAF (Bergamo/Siena) Genoa.
    Family 0x1A: models 0x00–0x1F are Turin (Zen 5 server parts).
    """
    if family == 0x19:
        if model <= 0x0F:
            return Product.MILAN
        if 0x10 <= model <= 0x1F or 0xA0 <= model <= 0xAF:
            return Product.GENOA
    if family == 0x1A and model <= 0x1F:
        return Product.TURIN
    return None


def product_from_name(name: str) -> Product | None:
    """Product line from a VCEK/VLEK productName such as ``Milan-B0`` or ``Genoa``."""
    line = name.split("-", 1)[0].strip().lower()
    for product in Product:
        if product.value.lower() == line:
            return product
    return None


class SigningKey(enum.IntEnum):
    """SIGNING_KEY (signer info bits 4:2): which key signed the report."""

    VCEK = 0
    VLEK = 1
    NONE = 7


@dataclass(frozen=True, slots=True)
class SignerInfo:
    """Signer info at 0x48 (u32). Bits 31:5 are must-be-zero (checked by the parser)."""

    raw: int

    @property
    def author_key_en(self) -> bool:
        return bool(self.raw & 1)

    @property
    def mask_chip_key(self) -> bool:
        return bool(self.raw >> 1 & 1)

    @property
    def signing_key_value(self) -> int:
        return self.raw >> 2 & 0b111

    @property
    def signing_key(self) -> SigningKey | None:
        """The signing key kind, or ``None`` for the reserved values 2–6."""
        try:
            return SigningKey(self.signing_key_value)
        except ValueError:
            return None


@dataclass(frozen=True, slots=True)
class GuestPolicy:
    """Guest POLICY (u64 at 0x08)."""

    raw: int

    MBZ_MASK = ~((1 << 26) - 1) & 0xFFFF_FFFF_FFFF_FFFF
    RESERVED_ONE = 1 << 17

    @property
    def abi_minor(self) -> int:
        return self.raw & 0xFF

    @property
    def abi_major(self) -> int:
        return self.raw >> 8 & 0xFF

    def bit(self, n: int) -> bool:
        return bool(self.raw >> n & 1)

    @property
    def smt_allowed(self) -> bool:
        return self.bit(16)

    @property
    def migrate_ma_allowed(self) -> bool:
        return self.bit(18)

    @property
    def debug_allowed(self) -> bool:
        return self.bit(19)

    @property
    def single_socket_required(self) -> bool:
        return self.bit(20)

    @property
    def cxl_allowed(self) -> bool:
        return self.bit(21)

    @property
    def mem_aes_256_xts_required(self) -> bool:
        return self.bit(22)

    @property
    def rapl_disable_required(self) -> bool:
        return self.bit(23)

    @property
    def ciphertext_hiding_required(self) -> bool:
        return self.bit(24)

    @property
    def page_swap_disable(self) -> bool:
        return self.bit(25)

    def as_dict(self) -> dict[str, object]:
        return {
            "raw": f"{self.raw:#018x}",
            "abi": f"{self.abi_major}.{self.abi_minor}",
            "smt_allowed": self.smt_allowed,
            "migrate_ma_allowed": self.migrate_ma_allowed,
            "debug_allowed": self.debug_allowed,
            "single_socket_required": self.single_socket_required,
            "cxl_allowed": self.cxl_allowed,
            "mem_aes_256_xts_required": self.mem_aes_256_xts_required,
            "rapl_disable_required": self.rapl_disable_required,
            "ciphertext_hiding_required": self.ciphertext_hiding_required,
            "page_swap_disable": self.page_swap_disable,
        }


@dataclass(frozen=True, slots=True)
class PlatformInfo:
    """PLATFORM_INFO (u64 at 0x40). Upper bits are reserved by AMD and not interpreted."""

    raw: int

    def bit(self, n: int) -> bool:
        return bool(self.raw >> n & 1)

    @property
    def smt_enabled(self) -> bool:
        return self.bit(0)

    @property
    def tsme_enabled(self) -> bool:
        return self.bit(1)

    @property
    def ecc_enabled(self) -> bool:
        return self.bit(2)

    @property
    def rapl_disabled(self) -> bool:
        return self.bit(3)

    @property
    def ciphertext_hiding_enabled(self) -> bool:
        return self.bit(4)

    @property
    def alias_check_complete(self) -> bool:
        return self.bit(5)

    @property
    def sev_tio_enabled(self) -> bool:
        return self.bit(7)

    def as_dict(self) -> dict[str, object]:
        return {
            "raw": f"{self.raw:#018x}",
            "smt_enabled": self.smt_enabled,
            "tsme_enabled": self.tsme_enabled,
            "ecc_enabled": self.ecc_enabled,
            "rapl_disabled": self.rapl_disabled,
            "ciphertext_hiding_enabled": self.ciphertext_hiding_enabled,
            "alias_check_complete": self.alias_check_complete,
            "sev_tio_enabled": self.sev_tio_enabled,
        }


@dataclass(frozen=True, slots=True, order=False)
class TcbParts:
    """The security patch levels of a TCB_VERSION. ``fmc`` is ``None`` before Turin."""

    bootloader: int
    tee: int
    snp: int
    microcode: int
    fmc: int | None = None

    COMPONENTS = ("fmc", "bootloader", "tee", "snp", "microcode")

    def items(self) -> list[tuple[str, int]]:
        """(component, SPL) pairs in KDS order, skipping FMC where the product has none."""
        out = [("fmc", self.fmc)] if self.fmc is not None else []
        out += [
            ("bootloader", self.bootloader),
            ("tee", self.tee),
            ("snp", self.snp),
            ("microcode", self.microcode),
        ]
        return [(k, v) for k, v in out if v is not None]

    def below(self, minimum: TcbParts) -> list[str]:
        """Components of ``self`` lower than ``minimum`` (component-wise, never as one integer)."""
        mins = dict(minimum.items())
        return [name for name, spl in self.items() if name in mins and spl < mins[name]]

    def as_dict(self) -> dict[str, int]:
        return dict(self.items())


@dataclass(frozen=True, slots=True)
class TcbVersion:
    """A raw TCB_VERSION (u64). Its byte layout depends on the product line.

    Milan/Genoa: byte0 boot loader, byte1 TEE, bytes2–5 reserved, byte6 SNP, byte7 microcode.
    Turin: byte0 FMC, byte1 boot loader, byte2 TEE, byte3 SNP, bytes4–6 reserved, byte7 microcode.
    """

    raw: int

    def byte(self, n: int) -> int:
        return self.raw >> (8 * n) & 0xFF

    def parts(self, product: Product) -> TcbParts:
        if product.has_fmc:
            return TcbParts(
                fmc=self.byte(0),
                bootloader=self.byte(1),
                tee=self.byte(2),
                snp=self.byte(3),
                microcode=self.byte(7),
            )
        return TcbParts(bootloader=self.byte(0), tee=self.byte(1), snp=self.byte(6), microcode=self.byte(7))

    @classmethod
    def from_parts(cls, parts: TcbParts, product: Product) -> TcbVersion:
        """Encode SPLs in the product's layout (used by the simulated attester and KDS queries)."""
        if product.has_fmc:
            b = [parts.fmc or 0, parts.bootloader, parts.tee, parts.snp, 0, 0, 0, parts.microcode]
        else:
            b = [parts.bootloader, parts.tee, 0, 0, 0, 0, parts.snp, parts.microcode]
        if any(not 0 <= x <= 0xFF for x in b):
            raise ValueError("each SPL must fit in one byte")
        return cls(int.from_bytes(bytes(b), "little"))

    def hex(self) -> str:
        """The 8 bytes as big-endian hex (the way AMD tools print TCB_VERSION)."""
        return f"{self.raw:016x}"
