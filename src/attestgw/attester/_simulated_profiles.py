"""Per-product defaults for the simulated AMD PKI and attester, taken from real evidence.

The values mirror genuine reports and certificates in the shared corpus (oak's Milan, Genoa and Turin
captures; AMD's ARK validity dates), so simulated evidence looks like what each product line emits.
They are defaults only: every one can be overridden per attester or per report.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from attestgw.evidence.snp import Product, TcbParts

__all__ = ["PROFILES", "ProductProfile"]


@dataclass(frozen=True, slots=True)
class ProductProfile:
    """Defaults for one product line.

    ``product_name``: the VCEK/VLEK productName extension. ``cpuid``: CPUID_FAM_ID, CPUID_MOD_ID,
    CPUID_STEP. ``firmware``: SNP firmware (major, minor, build). ``hw_id_len``: bytes of CHIP_ID
    that the VCEK hwID carries (Turin: 8). ``ark_not_before``: start of AMD's ARK validity.
    """

    product: Product
    product_name: str
    cpuid: tuple[int, int, int]
    tcb: TcbParts
    firmware: tuple[int, int, int]
    mit_vector: int
    platform_info: int
    hw_id_len: int
    ark_not_before: datetime


PROFILES: dict[Product, ProductProfile] = {
    Product.MILAN: ProductProfile(
        product=Product.MILAN,
        product_name="Milan-B0",
        cpuid=(0x19, 0x01, 0x01),
        tcb=TcbParts(bootloader=4, tee=0, snp=24, microcode=219),
        firmware=(1, 55, 29),
        mit_vector=0,
        platform_info=0x25,  # SMT_EN | ECC_EN | ALIAS_CHECK_COMPLETE
        hw_id_len=64,
        ark_not_before=datetime(2020, 10, 22, tzinfo=UTC),
    ),
    Product.GENOA: ProductProfile(
        product=Product.GENOA,
        product_name="Genoa",
        cpuid=(0x19, 0x11, 0x01),
        tcb=TcbParts(bootloader=10, tee=0, snp=25, microcode=84),
        firmware=(1, 55, 43),
        mit_vector=1,
        platform_info=0x25,
        hw_id_len=64,
        ark_not_before=datetime(2022, 1, 26, tzinfo=UTC),
    ),
    Product.TURIN: ProductProfile(
        product=Product.TURIN,
        product_name="Turin",
        cpuid=(0x1A, 0x02, 0x01),
        tcb=TcbParts(fmc=0, bootloader=1, tee=0, snp=2, microcode=71),
        firmware=(1, 55, 61),
        mit_vector=0,
        platform_info=0x25,
        hw_id_len=8,
        ark_not_before=datetime(2023, 5, 15, tzinfo=UTC),
    ),
}
