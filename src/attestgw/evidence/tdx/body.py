"""Quote bodies: the TD 1.0 (584 B) and TD 1.5 (648 B) TD quote bodies and the SGX enclave body.

TD quote body (formats.md §3.2; Intel QVL ``QuoteStructures.h`` ``TDReport10`` / ``TDReport15``),
offsets relative to the start of the body:

==========  ====  ====================================================================
Offset      Size  Field
==========  ====  ====================================================================
0x000       16    TEE_TCB_SVN (byte 0 TDX module ISVSVN, byte 1 module major version)
0x010       48    MRSEAM
0x040       48    MRSIGNERSEAM
0x070       8     SEAMATTRIBUTES (u64)
0x078       8     TDATTRIBUTES (u64: bit 0 DEBUG, bit 28 SEPT_VE_DISABLE, bit 30 PKS, bit 63 PERFMON)
0x080       8     XFAM (u64)
0x088       48    MRTD
0x0B8       48    MRCONFIGID
0x0E8       48    MROWNER
0x118       48    MROWNERCONFIG
0x148       4×48  RTMR0..RTMR3
0x208       64    REPORTDATA
0x248       16    TEE_TCB_SVN2   (TD 1.5 only)
0x258       48    MRSERVICETD    (TD 1.5 only)
==========  ====  ====================================================================

The TD body has no reserved bytes, so nothing is checked here beyond the size: SEAMATTRIBUTES
being zero, DEBUG being off and every measurement are verification / policy questions.
"""

from __future__ import annotations

import enum
import struct
from dataclasses import dataclass

from attestgw.errors import FormatError
from attestgw.evidence.tdx.qe_report import (
    ENCLAVE_REPORT_SIZE,
    EnclaveReport,
    parse_enclave_report,
    serialize_enclave_report,
)

__all__ = [
    "BODY_SIZES",
    "TD10_BODY_SIZE",
    "TD15_BODY_SIZE",
    "BodyType",
    "TdQuoteBody",
    "body_type_of",
    "parse_body",
    "serialize_body",
]

TD10_BODY_SIZE = 584
TD15_BODY_SIZE = 648


class BodyType(enum.IntEnum):
    """The v5 ``body_type`` values; v3/v4 quotes imply SGX (tee_type 0) or TD 1.0 (tee_type 0x81).

    Type 1 (SGX enclave report) is listed as unconfirmed in formats.md §16; it is parsed so that an
    SGX quote is recognised and named as such, and a TDX policy refuses it.
    """

    SGX = 1
    TD10 = 2
    TD15 = 3


BODY_SIZES: dict[BodyType, int] = {
    BodyType.SGX: ENCLAVE_REPORT_SIZE,
    BodyType.TD10: TD10_BODY_SIZE,
    BodyType.TD15: TD15_BODY_SIZE,
}

TDATTR_DEBUG = 1 << 0
TDATTR_SEPT_VE_DISABLE = 1 << 28


@dataclass(frozen=True, slots=True)
class TdQuoteBody:
    """A parsed, **unverified** TD quote body; ``tee_tcb_svn2`` / ``mr_service_td`` only for TD 1.5."""

    tee_tcb_svn: bytes
    mr_seam: bytes
    mr_signer_seam: bytes
    seam_attributes: int
    td_attributes: int
    xfam: int
    mr_td: bytes
    mr_config_id: bytes
    mr_owner: bytes
    mr_owner_config: bytes
    rtmrs: tuple[bytes, bytes, bytes, bytes]
    report_data: bytes
    tee_tcb_svn2: bytes | None = None
    mr_service_td: bytes | None = None

    @property
    def debug(self) -> bool:
        """TDATTRIBUTES.DEBUG: the host can read and write TD state."""
        return bool(self.td_attributes & TDATTR_DEBUG)

    @property
    def sept_ve_disable(self) -> bool:
        """TDATTRIBUTES.SEPT_VE_DISABLE (bit 28)."""
        return bool(self.td_attributes & TDATTR_SEPT_VE_DISABLE)

    @property
    def tdx_module_major(self) -> int:
        """TEE_TCB_SVN[1], the TDX module major version (selects the module identity in TCB info)."""
        return self.tee_tcb_svn[1]


def _parse_td(blob: bytes, td15: bool) -> TdQuoteBody:
    seam_attributes, td_attributes, xfam = struct.unpack_from("<QQQ", blob, 0x070)
    rtmrs = (blob[0x148:0x178], blob[0x178:0x1A8], blob[0x1A8:0x1D8], blob[0x1D8:0x208])
    return TdQuoteBody(
        tee_tcb_svn=blob[0x000:0x010],
        mr_seam=blob[0x010:0x040],
        mr_signer_seam=blob[0x040:0x070],
        seam_attributes=int(seam_attributes),
        td_attributes=int(td_attributes),
        xfam=int(xfam),
        mr_td=blob[0x088:0x0B8],
        mr_config_id=blob[0x0B8:0x0E8],
        mr_owner=blob[0x0E8:0x118],
        mr_owner_config=blob[0x118:0x148],
        rtmrs=rtmrs,
        report_data=blob[0x208:0x248],
        tee_tcb_svn2=blob[0x248:0x258] if td15 else None,
        mr_service_td=blob[0x258:0x288] if td15 else None,
    )


def parse_body(body_type: BodyType, blob: bytes) -> TdQuoteBody | EnclaveReport:
    """Parse a body of ``body_type``; ``blob`` must be exactly its size.

    Raises ``FormatError`` only: ``tdx.body_type_invalid`` for a size that does not match the type,
    ``tdx.reserved_nonzero`` for an SGX body with reserved bytes set.
    """
    want = BODY_SIZES[body_type]
    if len(blob) != want:
        raise FormatError("tdx.body_type_invalid", f"{body_type.name} body is {len(blob)} bytes, want {want}")
    if body_type is BodyType.SGX:
        return parse_enclave_report(blob)
    return _parse_td(blob, body_type is BodyType.TD15)


def serialize_body(body: TdQuoteBody | EnclaveReport) -> bytes:
    """Encode a body; a TD body is TD 1.5 exactly when ``tee_tcb_svn2`` is set. ``ValueError`` on a
    wrong-sized field."""
    if isinstance(body, EnclaveReport):
        return serialize_enclave_report(body)
    fields = [
        (body.tee_tcb_svn, 16),
        (body.mr_seam, 48),
        (body.mr_signer_seam, 48),
        (struct.pack("<QQQ", body.seam_attributes, body.td_attributes, body.xfam), 24),
        (body.mr_td, 48),
        (body.mr_config_id, 48),
        (body.mr_owner, 48),
        (body.mr_owner_config, 48),
        *((rtmr, 48) for rtmr in body.rtmrs),
        (body.report_data, 64),
    ]
    if len(body.rtmrs) != 4:
        raise ValueError(f"a TD body has 4 RTMRs, got {len(body.rtmrs)}")
    if (body.tee_tcb_svn2 is None) != (body.mr_service_td is None):
        raise ValueError("tee_tcb_svn2 and mr_service_td are both set (TD 1.5) or both None (TD 1.0)")
    if body.tee_tcb_svn2 is not None and body.mr_service_td is not None:
        fields += [(body.tee_tcb_svn2, 16), (body.mr_service_td, 48)]
    out = bytearray()
    for value, size in fields:
        if len(value) != size:
            raise ValueError(f"TD body field at {len(out):#05x} needs {size} bytes, got {len(value)}")
        out += value
    return bytes(out)


def body_type_of(body: TdQuoteBody | EnclaveReport) -> BodyType:
    """The body type a body serializes as."""
    if isinstance(body, EnclaveReport):
        return BodyType.SGX
    return BodyType.TD10 if body.tee_tcb_svn2 is None else BodyType.TD15
