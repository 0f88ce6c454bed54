"""The 384-byte SGX enclave report body (``sgx_report_body_t``): the QE report and the SGX quote body.

Layout (Intel SGX SDK ``sgx_report.h``; Intel DCAP quote library ``sgx_quote_3.h``; formats.md §3.3),
all integers little-endian:

==========  ====  ==================================================
Offset      Size  Field
==========  ====  ==================================================
0x000       16    CPUSVN
0x010       4     MISCSELECT
0x014       12    reserved (must be zero)
0x020       16    ISVEXTPRODID (KSS)
0x030       16    ATTRIBUTES (flags u64 ‖ xfrm u64)
0x040       32    MRENCLAVE
0x060       32    reserved (must be zero)
0x080       32    MRSIGNER
0x0A0       32    reserved (must be zero)
0x0C0       64    CONFIGID (KSS)
0x100       2     ISVPRODID
0x102       2     ISVSVN
0x104       2     CONFIGSVN (KSS)
0x106       42    reserved (must be zero)
0x130       16    ISVFAMILYID (KSS)
0x140       64    REPORTDATA
==========  ====  ==================================================

formats.md §3.3 folds the KSS fields (ISVEXTPRODID, CONFIGID, CONFIGSVN, ISVFAMILYID) into its
"reserved" ranges; they are real fields for enclaves using Key Separation and Sharing, so they are
kept here and only the four true reserved ranges are checked to be zero.

Nothing here is authenticated: the QE report is signed by the PCK key and an SGX quote body by the
attestation key; both checks belong to ``attestgw.verify``.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from attestgw.errors import FormatError

__all__ = ["ENCLAVE_REPORT_SIZE", "EnclaveReport", "parse_enclave_report", "serialize_enclave_report"]

ENCLAVE_REPORT_SIZE = 384
_RESERVED = ((0x014, 0x020), (0x060, 0x080), (0x0A0, 0x0C0), (0x106, 0x130))


@dataclass(frozen=True, slots=True)
class EnclaveReport:
    """A parsed, **unverified** SGX enclave report body (384 bytes)."""

    cpu_svn: bytes
    misc_select: int
    isv_ext_prod_id: bytes
    attributes: bytes
    mr_enclave: bytes
    mr_signer: bytes
    config_id: bytes
    isv_prod_id: int
    isv_svn: int
    config_svn: int
    isv_family_id: bytes
    report_data: bytes

    @property
    def debug(self) -> bool:
        """ATTRIBUTES.DEBUG (flags bit 1): a debug enclave's memory is readable by the host."""
        return bool(self.attributes[0] & 0x02)


def parse_enclave_report(blob: bytes) -> EnclaveReport:
    """Parse exactly 384 bytes. Raises ``FormatError`` (``tdx.truncated``, ``tdx.oversized``,
    ``tdx.reserved_nonzero``) and nothing else."""
    if len(blob) < ENCLAVE_REPORT_SIZE:
        raise FormatError("tdx.truncated", f"enclave report is {len(blob)} bytes, want 384")
    if len(blob) > ENCLAVE_REPORT_SIZE:
        raise FormatError("tdx.oversized", f"enclave report is {len(blob)} bytes, want 384")
    for start, end in _RESERVED:
        if any(blob[start:end]):
            raise FormatError(
                "tdx.reserved_nonzero",
                f"enclave report reserved bytes {start:#05x}..{end:#05x} are {blob[start:end].hex()}, "
                "want zeros",
            )
    misc_select, isv_prod_id, isv_svn, config_svn = (
        struct.unpack_from("<I", blob, 0x010)[0],
        *struct.unpack_from("<HHH", blob, 0x100),
    )
    return EnclaveReport(
        cpu_svn=blob[0x000:0x010],
        misc_select=int(misc_select),
        isv_ext_prod_id=blob[0x020:0x030],
        attributes=blob[0x030:0x040],
        mr_enclave=blob[0x040:0x060],
        mr_signer=blob[0x080:0x0A0],
        config_id=blob[0x0C0:0x100],
        isv_prod_id=int(isv_prod_id),
        isv_svn=int(isv_svn),
        config_svn=int(config_svn),
        isv_family_id=blob[0x130:0x140],
        report_data=blob[0x140:0x180],
    )


def serialize_enclave_report(report: EnclaveReport) -> bytes:
    """Encode ``report`` into 384 bytes (reserved bytes zero). Raises ``ValueError`` on a wrong-sized
    field; the output of :func:`parse_enclave_report` always round-trips."""
    out = bytearray(ENCLAVE_REPORT_SIZE)

    def put(off: int, value: bytes, size: int) -> None:
        if len(value) != size:
            raise ValueError(f"enclave report field at {off:#05x} needs {size} bytes, got {len(value)}")
        out[off : off + size] = value

    put(0x000, report.cpu_svn, 16)
    struct.pack_into("<I", out, 0x010, report.misc_select)
    put(0x020, report.isv_ext_prod_id, 16)
    put(0x030, report.attributes, 16)
    put(0x040, report.mr_enclave, 32)
    put(0x080, report.mr_signer, 32)
    put(0x0C0, report.config_id, 64)
    struct.pack_into("<HHH", out, 0x100, report.isv_prod_id, report.isv_svn, report.config_svn)
    put(0x130, report.isv_family_id, 16)
    put(0x140, report.report_data, 64)
    return bytes(out)
