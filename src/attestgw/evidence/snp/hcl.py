"""Azure HCL attestation report envelope, as read from the vTPM NV index on Azure CVMs.

Layout (little-endian): ``"HCLA"`` magic, u32 version, u32 report size, u32 request type, u32 status,
12 reserved bytes; the hardware report at 0x20 (1184 bytes for SEV-SNP); then the IGVM request data
header ``u32 data_size, u32 version, u32 report_type (2 = SNP, 4 = TDX), u32 hash_type,
u32 variable_data_size`` followed by the runtime claims. The SNP REPORT_DATA commits to the runtime
claims (Azure puts SHA-256 of them in its first 32 bytes); this module only extracts, it does not
check that binding.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from attestgw.errors import FormatError
from attestgw.evidence.snp.report import REPORT_SIZE

__all__ = ["HclReport", "is_hcl_report", "parse_hcl_report"]

_MAGIC = b"HCLA"
_HW_OFFSET = 0x20
_IGVM_OFFSET = _HW_OFFSET + REPORT_SIZE
_IGVM_HEADER = 20
_REPORT_TYPE_SNP = 2


@dataclass(frozen=True, slots=True)
class HclReport:
    version: int
    snp_report: bytes
    runtime_data: bytes


def is_hcl_report(data: bytes) -> bool:
    return data[:4] == _MAGIC


def parse_hcl_report(data: bytes) -> HclReport:
    """Extract the SNP report and runtime claims. Raises ``FormatError`` only."""
    if not is_hcl_report(data) or len(data) < _IGVM_OFFSET + _IGVM_HEADER:
        raise FormatError("snp.hcl_invalid", "not an HCL report (magic or length)")
    version = int(struct.unpack_from("<I", data, 4)[0])
    data_size, _ver, report_type, _hash, var_size = struct.unpack_from("<5I", data, _IGVM_OFFSET)
    if report_type != _REPORT_TYPE_SNP:
        raise FormatError(
            "snp.hcl_invalid", f"HCL report type {report_type}, want {_REPORT_TYPE_SNP} (SEV-SNP)"
        )
    start = _IGVM_OFFSET + _IGVM_HEADER
    if var_size > data_size or start + var_size > len(data):
        raise FormatError("snp.hcl_invalid", "HCL runtime data runs past the end of the envelope")
    return HclReport(
        version=version,
        snp_report=data[_HW_OFFSET:_IGVM_OFFSET],
        runtime_data=data[start : start + var_size],
    )
