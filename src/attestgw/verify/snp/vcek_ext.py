"""AMD VCEK/VLEK X.509 extensions (OID 1.3.6.1.4.1.3704.1.*; AMD #57230, formats.md §2.5).

``cryptography`` hands these over as opaque bytes (the extnValue contents); this module reads them
with a tiny bounded DER reader and compares them with the report:

* ``.1`` structVersion INTEGER, ``.2`` productName IA5String, ``.3.1``–``.3.9`` SPLs INTEGER
  (blSPL, teeSPL, snpSPL, spl_4..7 reserved, ucodeSPL, fmcSPL on Turin), ``.4`` hwID, ``.5`` cspId
  IA5String.
* hwID comes in four shapes seen in the wild: 64 raw bytes (older KDS certificates, no DER tag),
  DER ``04 40 ‖ 64 bytes`` (newer ones), and on Turin 8 raw bytes or ``04 08 ‖ 8 bytes``.

Every reader raises :class:`~attestgw.errors.VerificationError` ``snp.cert_malformed`` (never a
bare exception) for anything else: wrong tag, non-minimal or negative INTEGER, an SPL above 255,
trailing bytes, non-ASCII strings, oversize values.

Not checked here: which extensions a certificate *must* carry for its kind (the verifier decides,
because that depends on VCEK vs VLEK and on the product), and the reserved spl_4..spl_7 values.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from attestgw.crypto.x509 import der_tlv
from attestgw.errors import VerificationError
from attestgw.evidence.snp import Product, TcbParts

__all__ = [
    "AMD_OID_PREFIX",
    "AmdExtensions",
    "hwid_matches_chip_id",
    "parse_amd_extensions",
    "raw_amd_extensions",
    "read_hwid",
    "read_ia5",
    "read_integer",
    "tcb_differences",
]

AMD_OID_PREFIX = "1.3.6.1.4.1.3704.1."

_STRUCT_VERSION = AMD_OID_PREFIX + "1"
_PRODUCT_NAME = AMD_OID_PREFIX + "2"
_BL_SPL = AMD_OID_PREFIX + "3.1"
_TEE_SPL = AMD_OID_PREFIX + "3.2"
_SNP_SPL = AMD_OID_PREFIX + "3.3"
_UCODE_SPL = AMD_OID_PREFIX + "3.8"
_FMC_SPL = AMD_OID_PREFIX + "3.9"
_HWID = AMD_OID_PREFIX + "4"
_CSP_ID = AMD_OID_PREFIX + "5"

_AMD_OID_DER = bytes.fromhex("2b060104019c7801")  # 1.3.6.1.4.1.3704.1 in DER OID content form
_MAX_EXTENSIONS = 64
_MALFORMED = "snp.cert_malformed"
_MAX_INT_BYTES = 8
_MAX_STRING = 256


@dataclass(frozen=True, slots=True)
class AmdExtensions:
    """The AMD extensions of one VCEK/VLEK, decoded. ``None`` means the extension is absent."""

    struct_version: int | None
    product_name: str | None
    bl_spl: int | None
    tee_spl: int | None
    snp_spl: int | None
    ucode_spl: int | None
    fmc_spl: int | None
    hwid: bytes | None
    csp_id: str | None

    def spls(self) -> dict[str, int | None]:
        """SPLs by :class:`~attestgw.evidence.snp.TcbParts` component name."""
        return {
            "fmc": self.fmc_spl,
            "bootloader": self.bl_spl,
            "tee": self.tee_spl,
            "snp": self.snp_spl,
            "microcode": self.ucode_spl,
        }


def _single(value: bytes, want_tag: int, what: str) -> bytes:
    """The content of the one DER element that makes up ``value`` (no trailing bytes)."""
    try:
        tag, vs, ve = der_tlv(value, 0, len(value))
    except ValueError as exc:
        raise VerificationError(_MALFORMED, f"{what}: {exc}") from None
    if tag != want_tag:
        raise VerificationError(_MALFORMED, f"{what}: DER tag {tag:#04x}, want {want_tag:#04x}")
    if ve != len(value):
        raise VerificationError(_MALFORMED, f"{what}: {len(value) - ve} trailing bytes after the value")
    return value[vs:ve]


def read_integer(value: bytes, what: str = "INTEGER", maximum: int | None = None) -> int:
    """A DER INTEGER that must be non-negative, minimally encoded and at most ``maximum``."""
    content = _single(value, 0x02, what)
    if not content or len(content) > _MAX_INT_BYTES + 1:
        raise VerificationError(_MALFORMED, f"{what}: INTEGER of {len(content)} bytes")
    if len(content) > 1 and (
        (content[0] == 0x00 and content[1] < 0x80) or (content[0] == 0xFF and content[1] >= 0x80)
    ):
        raise VerificationError(_MALFORMED, f"{what}: INTEGER {content.hex()} is not minimally encoded")
    if content[0] & 0x80:
        raise VerificationError(_MALFORMED, f"{what}: negative INTEGER {content.hex()}")
    number = int.from_bytes(content, "big")
    if maximum is not None and number > maximum:
        raise VerificationError(_MALFORMED, f"{what}: {number} exceeds {maximum}")
    return number


def read_ia5(value: bytes, what: str = "IA5String") -> str:
    """A DER IA5String of printable ASCII, at most 256 characters."""
    content = _single(value, 0x16, what)
    if len(content) > _MAX_STRING:
        raise VerificationError(_MALFORMED, f"{what}: {len(content)} characters, limit {_MAX_STRING}")
    if any(not 0x20 <= byte <= 0x7E for byte in content):
        raise VerificationError(_MALFORMED, f"{what}: non-printable bytes in {content.hex()}")
    return content.decode("ascii")


def read_hwid(value: bytes) -> bytes:
    """The hwID bytes (64, or 8 on Turin) from any of the four encodings AMD has used."""
    if len(value) in (8, 64):
        # Raw legacy form: the extnValue *is* the ID. A 66- or 10-byte value cannot be raw, so the
        # lengths alone tell the forms apart.
        return bytes(value)
    content = _single(value, 0x04, "hwID")
    if len(content) not in (8, 64):
        raise VerificationError(_MALFORMED, f"hwID: {len(content)} bytes, want 64 (or 8 on Turin)")
    return content


def raw_amd_extensions(extensions_der: bytes) -> dict[str, bytes]:
    """``{dotted OID: extnValue contents}`` of the AMD extensions in a DER ``SEQUENCE OF Extension``.

    Every extension is walked (so a malformed or repeated one is refused, RFC 5280 §4.2), but only
    OIDs under :data:`AMD_OID_PREFIX` are returned. Empty input means "no extensions".
    """
    out: dict[str, bytes] = {}
    if not extensions_der:
        return out
    seen: set[bytes] = set()
    try:
        tag, pos, end = der_tlv(extensions_der, 0, len(extensions_der))
        if tag != 0x30 or end != len(extensions_der):
            raise ValueError("Extensions is not one SEQUENCE")
        while pos < end:
            if len(seen) >= _MAX_EXTENSIONS:
                raise ValueError(f"more than {_MAX_EXTENSIONS} extensions")
            tag, vs, ve = der_tlv(extensions_der, pos, end)
            if tag != 0x30:
                raise ValueError("Extension is not a SEQUENCE")
            pos = ve
            otag, os_, oe = der_tlv(extensions_der, vs, ve)
            if otag != 0x06:
                raise ValueError("Extension has no OID")
            oid = extensions_der[os_:oe]
            if oid in seen:
                raise ValueError(f"extension {oid.hex()} appears twice")
            seen.add(oid)
            field, fs, fe = der_tlv(extensions_der, oe, ve)
            if field == 0x01:  # critical BOOLEAN; its value does not matter for reading
                field, fs, fe = der_tlv(extensions_der, fe, ve)
            if field != 0x04 or fe != ve:
                raise ValueError("Extension value is not a single OCTET STRING")
            if oid.startswith(_AMD_OID_DER):
                out[AMD_OID_PREFIX + _arcs(oid[len(_AMD_OID_DER) :])] = extensions_der[fs:fe]
    except ValueError as exc:
        raise VerificationError(_MALFORMED, f"certificate extensions: {exc}") from None
    return out


def _arcs(encoded: bytes) -> str:
    """Dotted text of base-128 OID arcs (X.690 §8.19)."""
    arcs: list[str] = []
    value = 0
    for byte in encoded:
        if value == 0 and byte == 0x80:
            raise ValueError("OID arc not minimally encoded")
        value = value << 7 | byte & 0x7F
        if not byte & 0x80:
            arcs.append(str(value))
            value = 0
    if encoded and encoded[-1] & 0x80:
        raise ValueError("OID ends inside an arc")
    return ".".join(arcs)


def parse_amd_extensions(raw: Mapping[str, bytes]) -> AmdExtensions:
    """Decode the AMD extensions from ``{dotted OID: extnValue contents}`` (others are ignored)."""

    def integer(oid: str, what: str, maximum: int) -> int | None:
        return read_integer(raw[oid], what, maximum) if oid in raw else None

    def text(oid: str, what: str) -> str | None:
        return read_ia5(raw[oid], what) if oid in raw else None

    # The reserved spl_4..spl_7 must still be well-formed INTEGERs even though they are not compared.
    for n in range(4, 8):
        oid = f"{AMD_OID_PREFIX}3.{n}"
        if oid in raw:
            read_integer(raw[oid], f"spl_{n}", 0xFF)
    return AmdExtensions(
        struct_version=integer(_STRUCT_VERSION, "structVersion", 0xFFFF_FFFF),
        product_name=text(_PRODUCT_NAME, "productName"),
        bl_spl=integer(_BL_SPL, "blSPL", 0xFF),
        tee_spl=integer(_TEE_SPL, "teeSPL", 0xFF),
        snp_spl=integer(_SNP_SPL, "snpSPL", 0xFF),
        ucode_spl=integer(_UCODE_SPL, "ucodeSPL", 0xFF),
        fmc_spl=integer(_FMC_SPL, "fmcSPL", 0xFF),
        hwid=read_hwid(raw[_HWID]) if _HWID in raw else None,
        csp_id=text(_CSP_ID, "cspId"),
    )


def tcb_differences(ext: AmdExtensions, reported: TcbParts, product: Product) -> list[str]:
    """Human-readable differences between the certificate SPLs and REPORTED_TCB ([] if equal).

    ``reported`` is REPORTED_TCB already decoded with ``product``'s layout
    (``TcbVersion.parts(product)``, formats.md §2.3). A missing SPL extension is reported as a
    difference, so callers never treat "absent" as "matches". fmcSPL is compared only on products
    that have an FMC.
    """
    want = dict(reported.items())
    diffs: list[str] = []
    for name, cert_value in ext.spls().items():
        if name == "fmc" and not product.has_fmc:
            continue
        report_value = want.get(name)
        if cert_value != report_value:
            shown = "absent" if cert_value is None else str(cert_value)
            diffs.append(f"{name}: certificate {shown}, REPORTED_TCB {report_value}")
    return diffs


def hwid_matches_chip_id(hwid: bytes, chip_id: bytes, product: Product) -> bool:
    """Whether the certificate hwID names the report's CHIP_ID.

    64-byte hwIDs must equal CHIP_ID. An 8-byte hwID is only valid on Turin, where it must equal the
    first 8 bytes of CHIP_ID and the remaining 56 bytes must be zero (formats.md §2.1, §2.5).
    """
    if len(chip_id) != 64:
        return False
    if len(hwid) == 64:
        return hwid == chip_id
    if len(hwid) == 8 and product.has_fmc:
        return chip_id[:8] == hwid and not any(chip_id[8:])
    return False
