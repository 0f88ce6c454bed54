"""The Intel SGX extension of a PCK certificate (OID 1.2.840.113741.1.13.1, formats.md §3.5).

:func:`parse_sgx_extension` takes the extension's ``extnValue`` contents (the DER SEQUENCE of
``(OID, value)`` pairs) and returns :class:`SgxExtension`. Strict: every mandatory entry (PPID,
TCB, PCE-ID, FMSPC, SGX type) exactly once, fixed lengths (PPID 16, CPUSVN 16, PCE-ID 2, FMSPC 6),
TCB holding exactly the 16 component SVNs, PCESVN and CPUSVN; duplicates are refused. Unknown
top-level entries are refused too (Intel's PCK profile lists all of them).

Not checked here: that the certificate carrying the extension is genuine (``attestgw.verify``
does that before trusting any value) and whether the values match any TCB info.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

from attestgw.errors import FormatError
from attestgw.evidence.tdx_collateral import _der

__all__ = ["SGX_EXTENSION_OID", "PlatformConfiguration", "SgxExtension", "SgxType", "parse_sgx_extension"]

#: Dotted form of the SGX extension OID, for callers that look it up in a certificate.
SGX_EXTENSION_OID = "1.2.840.113741.1.13.1"
_BASE = bytes.fromhex("2a864886f84d010d01")  # DER content of 1.2.840.113741.1.13.1
_CODE = "tdx.pck_extension_malformed"
_MAX_EXT = 4096  # real extensions are ~550 bytes


class SgxType(IntEnum):
    STANDARD = 0
    SCALABLE = 1
    SCALABLE_WITH_INTEGRITY = 2


@dataclass(frozen=True, slots=True)
class PlatformConfiguration:
    """Entry .7 (multi-package platforms only); a flag absent from the certificate is None."""

    dynamic_platform: bool | None
    cached_keys: bool | None
    smt_enabled: bool | None


@dataclass(frozen=True, slots=True)
class SgxExtension:
    """Values read from the PCK certificate; ``sgx_tcb_components`` has 16 SVNs in OID order."""

    ppid: bytes
    sgx_tcb_components: tuple[int, ...]
    pcesvn: int
    cpusvn: bytes
    pce_id: bytes
    fmspc: bytes
    sgx_type: SgxType
    platform_instance_id: bytes | None
    configuration: PlatformConfiguration | None


def _pairs(value: bytes, prefix: bytes, limit: int) -> dict[int, _der.Element]:
    """``{last OID arc: value}`` for a SEQUENCE of SEQUENCE { OID prefix.arc, value }."""
    out: dict[int, _der.Element] = {}
    for entry in _der.children(value, limit=limit):
        if entry.tag != _der.SEQUENCE:
            raise ValueError("entry is not a SEQUENCE")
        parts = _der.children(entry.value, limit=2)
        if len(parts) != 2 or parts[0].tag != _der.OID:
            raise ValueError("entry is not (OID, value)")
        oid = parts[0].value
        if len(oid) != len(prefix) + 1 or not oid.startswith(prefix) or oid[-1] & 0x80:
            raise ValueError(f"unexpected OID {oid.hex()} under {prefix.hex()}")
        if oid[-1] in out:
            raise ValueError(f"OID arc {oid[-1]} appears twice")
        out[oid[-1]] = parts[1]
    return out


def _octets(element: _der.Element, size: int | None, what: str) -> bytes:
    if element.tag != _der.OCTET_STRING or (size is not None and len(element.value) != size):
        raise ValueError(f"{what}: want OCTET STRING of {size} bytes, got tag {element.tag:#x}")
    return element.value


def _boolean(element: _der.Element) -> bool:
    if element.tag != _der.BOOLEAN or element.value not in (b"\x00", b"\xff"):
        raise ValueError("want a DER BOOLEAN")
    return element.value == b"\xff"


def _parse(der: bytes) -> SgxExtension:
    top, end = _der.read_element(der, 0, len(der))
    if top.tag != _der.SEQUENCE or end != len(der):
        raise ValueError("extension value is not exactly one SEQUENCE")
    entries = _pairs(top.value, _BASE, 8)
    missing = {1, 2, 3, 4, 5} - entries.keys()
    if missing or entries.keys() - {1, 2, 3, 4, 5, 6, 7}:
        raise ValueError(f"entries {sorted(entries)}; want 1-5 and optionally 6, 7")
    tcb_el = entries[2]
    if tcb_el.tag != _der.SEQUENCE:
        raise ValueError("TCB entry is not a SEQUENCE")
    tcb = _pairs(tcb_el.value, _BASE + b"\x02", 18)
    if tcb.keys() != set(range(1, 19)):
        raise ValueError("TCB entry lacks some of its 16 components, PCESVN or CPUSVN")
    components = tuple(_der.to_int(tcb[i], max_bytes=2) for i in range(1, 17))
    if any(c > 255 for c in components):
        raise ValueError("an SGX TCB component SVN exceeds 255")
    pcesvn = _der.to_int(tcb[17], max_bytes=3)
    if pcesvn > 0xFFFF:
        raise ValueError("PCESVN exceeds 65535")
    sgx_type = _der.to_int(entries[5], tag=_der.ENUMERATED, max_bytes=1)
    if sgx_type not in SgxType._value2member_map_:
        raise ValueError(f"unknown SGX type {sgx_type}")
    config = None
    if 7 in entries:
        if entries[7].tag != _der.SEQUENCE:
            raise ValueError("configuration entry is not a SEQUENCE")
        flags = _pairs(entries[7].value, _BASE + b"\x07", 3)
        if flags.keys() - {1, 2, 3}:
            raise ValueError("unknown configuration flag")
        values = [_boolean(flags[i]) if i in flags else None for i in (1, 2, 3)]
        config = PlatformConfiguration(*values)
    return SgxExtension(
        ppid=_octets(entries[1], 16, "PPID"),
        sgx_tcb_components=components,
        pcesvn=pcesvn,
        cpusvn=_octets(tcb[18], 16, "CPUSVN"),
        pce_id=_octets(entries[3], 2, "PCE-ID"),
        fmspc=_octets(entries[4], 6, "FMSPC"),
        sgx_type=SgxType(sgx_type),
        platform_instance_id=_octets(entries[6], 16, "platform instance id") if 6 in entries else None,
        configuration=config,
    )


def parse_sgx_extension(der: bytes) -> SgxExtension:
    """Parse the SGX extension value (DER). Raises ``FormatError("tdx.pck_extension_malformed")``."""
    der = bytes(der)
    if len(der) > _MAX_EXT:
        raise FormatError(_CODE, f"SGX extension is {len(der)} bytes, want at most {_MAX_EXT}")
    try:
        return _parse(der)
    except ValueError as exc:
        raise FormatError(_CODE, f"SGX extension: {exc}") from None
