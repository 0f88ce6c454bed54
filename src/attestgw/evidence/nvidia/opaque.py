"""NVIDIA opaque data of the SPDM MEASUREMENTS response: ``{type u16 LE, size u16 LE, value}`` TLVs.

The GPU (and NVSwitch) firmware appends these TLVs to the signed response (formats.md §4.3). They are
covered by the SPDM signature, so once :mod:`attestgw.verify.nvidia` has checked it, the values are
authentic; before that they are unverified. :func:`parse_opaque` checks structure only:

- every TLV lies inside the opaque field and the field is consumed exactly;
- a type appears at most once (a duplicate could make two readers see different values).

The typed accessors decode the fields verification and appraisal use and raise
``FormatError("nvidia.opaque_invalid")`` when a present field is badly encoded. Unknown types are
kept (``entries``) and never interpreted. Not checked here: whether the values are plausible for a
device, or consistent with the certificate chain.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from attestgw.errors import FormatError

__all__ = ["FeatureFlag", "OpaqueData", "OpaqueType", "parse_opaque", "serialize_opaque"]

_CODE = "nvidia.opaque_invalid"
_ENABLED, _DISABLED = 0xAA, 0x55


class OpaqueType(enum.IntEnum):
    """TLV types NVIDIA's firmware emits (formats.md §4.3)."""

    CERT_ISSUER_NAME = 1
    CERT_AUTHORITY_KEY_IDENTIFIER = 2
    DRIVER_VERSION = 3
    GPU_INFO = 4
    SKU = 5
    VBIOS_VERSION = 6
    MANUFACTURER_ID = 7
    TAMPER_DETECTION = 8
    SMC = 9
    VPR = 10
    NVDEC0_STATUS = 11
    MSRSCNT = 12
    CPRINFO = 13
    BOARD_ID = 14
    CHIP_SKU = 15
    CHIP_SKU_MOD = 16
    PROJECT = 17
    PROJECT_SKU = 18
    PROJECT_SKU_MOD = 19
    FWID = 20
    PROTECTED_PCIE_STATUS = 21
    SWITCH_PDI = 22
    FLOORSWEPT_PORTS = 23
    POSITION_ID = 24
    LOCK_SWITCH_STATUS = 25
    GPU_LINK_CONN = 32
    SYS_ENABLE_STATUS = 33
    OPAQUE_DATA_VERSION = 34
    CHIP_INFO = 35
    FEATURE_FLAG = 36


class FeatureFlag(enum.IntEnum):
    """TLV 36: how the GPU is attached (single, multi-GPU passthrough, protected PCIe)."""

    SPT = 0
    MPT = 1
    PPCIE = 2


def _ascii(value: bytes, what: str) -> str:
    text = value.rstrip(b"\x00")
    if not text or not all(0x20 < b < 0x7F for b in text):
        raise FormatError(_CODE, f"{what} is not printable ASCII: {value.hex()}")
    return text.decode("ascii")


def _status(value: bytes, what: str) -> bool:
    if len(value) != 1 or value[0] not in (_ENABLED, _DISABLED):
        raise FormatError(_CODE, f"{what} is {value.hex()}, want aa (enabled) or 55 (disabled)")
    return value[0] == _ENABLED


@dataclass(frozen=True, slots=True)
class OpaqueData:
    """The TLVs in wire order (``items``) and by type (``entries``). Unverified until verify says so."""

    items: tuple[tuple[int, bytes], ...]

    @property
    def entries(self) -> Mapping[int, bytes]:
        return MappingProxyType(dict(self.items))

    def get(self, kind: OpaqueType) -> bytes | None:
        for tlv_type, value in self.items:
            if tlv_type == kind:
                return value
        return None

    def _text(self, kind: OpaqueType) -> str | None:
        value = self.get(kind)
        return None if value is None else _ascii(value, kind.name)

    @property
    def driver_version(self) -> str | None:
        """TLV 3, e.g. ``550.90.07`` (NVSwitch evidence has none)."""
        return self._text(OpaqueType.DRIVER_VERSION)

    @property
    def vbios_version(self) -> str | None:
        """TLV 6 as NVIDIA prints it, uppercase: ``96.00.9F.00.01``.

        GPUs send 8 bytes (``00 9f 00 96 01 00 00 00`` → ``96.00.9F.00.01``); NVSwitches send the
        dotted text itself.
        """
        value = self.get(OpaqueType.VBIOS_VERSION)
        if value is None:
            return None
        if len(value) == 8 and not any(value[5:]):
            return f"{value[3]:02X}.{value[2]:02X}.{value[1]:02X}.{value[0]:02X}.{value[4]:02X}"
        return _ascii(value, "VBIOS_VERSION").upper()

    @property
    def project(self) -> str | None:
        return self._text(OpaqueType.PROJECT)

    @property
    def project_sku(self) -> str | None:
        return self._text(OpaqueType.PROJECT_SKU)

    @property
    def chip_sku(self) -> str | None:
        return self._text(OpaqueType.CHIP_SKU)

    @property
    def chip_info(self) -> str | None:
        return self._text(OpaqueType.CHIP_INFO)

    @property
    def fwid(self) -> bytes | None:
        """TLV 20: the 48-byte firmware id the leaf certificate must also carry."""
        value = self.get(OpaqueType.FWID)
        if value is not None and len(value) != 48:
            raise FormatError(_CODE, f"FWID is {len(value)} bytes, want 48")
        return value

    @property
    def nvdec0_enabled(self) -> bool | None:
        value = self.get(OpaqueType.NVDEC0_STATUS)
        return None if value is None else _status(value, "NVDEC0_STATUS")

    @property
    def protected_pcie_enabled(self) -> bool | None:
        value = self.get(OpaqueType.PROTECTED_PCIE_STATUS)
        return None if value is None else _status(value, "PROTECTED_PCIE_STATUS")

    @property
    def feature_flag(self) -> FeatureFlag | None:
        value = self.get(OpaqueType.FEATURE_FLAG)
        if value is None:
            return None
        number = int.from_bytes(value, "little") if 1 <= len(value) <= 4 else -1
        if number not in tuple(FeatureFlag):
            raise FormatError(_CODE, f"FEATURE_FLAG is {value.hex()}, want 0 (SPT), 1 (MPT) or 2 (PPCIE)")
        return FeatureFlag(number)

    @property
    def opaque_data_version(self) -> int | None:
        value = self.get(OpaqueType.OPAQUE_DATA_VERSION)
        if value is None:
            return None
        if not 1 <= len(value) <= 4:
            raise FormatError(_CODE, f"OPAQUE_DATA_VERSION is {len(value)} bytes, want 1..4")
        return int.from_bytes(value, "little")


def parse_opaque(data: bytes) -> OpaqueData:
    """Split the opaque field into TLVs; ``FormatError("nvidia.opaque_invalid")`` on any defect."""
    items: list[tuple[int, bytes]] = []
    seen: set[int] = set()
    pos = 0
    while pos < len(data):
        if len(data) - pos < 4:
            raise FormatError(_CODE, f"TLV header at offset {pos} needs 4 bytes, {len(data) - pos} left")
        tlv_type = int.from_bytes(data[pos : pos + 2], "little")
        size = int.from_bytes(data[pos + 2 : pos + 4], "little")
        pos += 4
        if size > len(data) - pos:
            raise FormatError(_CODE, f"TLV type {tlv_type} announces {size} bytes, {len(data) - pos} left")
        if tlv_type in seen:
            raise FormatError(_CODE, f"TLV type {tlv_type} appears twice")
        seen.add(tlv_type)
        items.append((tlv_type, bytes(data[pos : pos + size])))
        pos += size
    return OpaqueData(tuple(items))


def serialize_opaque(opaque: OpaqueData) -> bytes:
    """The wire form of ``opaque`` (``parse_opaque(serialize_opaque(x)) == x``)."""
    out = bytearray()
    for tlv_type, value in opaque.items:
        if not 0 <= tlv_type <= 0xFFFF or len(value) > 0xFFFF:
            raise FormatError(_CODE, f"TLV type {tlv_type} or its {len(value)}-byte value does not fit")
        out += tlv_type.to_bytes(2, "little") + len(value).to_bytes(2, "little") + value
    return bytes(out)
